"""Reader for PEP 751 lockfiles: ``pylock.toml`` and ``pylock.<name>.toml``.

Validation is ``packaging.pylock``'s (``Pylock.from_dict``); this module only maps its
validated packages into the common ``Lock`` and turns its errors into located
``LockfileError``\\ s. A pylock file is flat: every entry carries its own ``marker``,
which may test ``extras`` and ``dependency_groups`` (e.g. ``"dev" in dependency_groups``)
besides the usual environment; markers are kept as written, for the selection step.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from layerplan._toml import bulk, line_of, load_lock_toml, loads_toml
from layerplan.errors import LockfileError
from layerplan.hookspecs import hookimpl
from layerplan.lockfiles._fast import dependency, locked_package
from layerplan.lockfiles._pylock_quick import Quick, QuickPackage
from layerplan.lockfiles.format import LockFormat, builtin_format
from layerplan.lockfiles.model import Dependency, FileKind, Lock, LockedFile, LockedPackage, Source, SourceKind

if TYPE_CHECKING:  # packaging.pylock is imported by the reader: every command loads this plugin
    from packaging.pylock import Package, PackageArchive, PackageSdist, PackageWheel, PylockValidationError

__all__ = ["layerplan_lock_formats", "read_pylock"]

_CONTEXT_PACKAGE = re.compile(r"^packages\[(\d+)\]")
_CONTEXT_KEYS = re.compile(r"[A-Za-z_-]+")
_REGENERATE = "fix the entry or regenerate the file with your lock tool"
_STR_OR_NONE = (str, type(None))


@hookimpl
def layerplan_lock_formats() -> list[LockFormat]:
    """PEP 751 ``pylock.toml`` and its named variants ``pylock.<name>.toml``."""
    return [builtin_format("pylock", read_pylock)]


@bulk()
def read_pylock(path: Path) -> Lock:
    """Read a PEP 751 lockfile into a flat ``Lock``.

    Raises ``LockfileError`` (with the file, a best-guess line, the key path and a
    hint) when the file is not TOML, its ``lock-version`` is not 1.x, or it breaks the
    specification (missing fields, a marker that does not parse, files that do not
    match the package...).
    """
    from packaging.pylock import Pylock, PylockValidationError

    try:
        data, text, headers = load_lock_toml(path, LockfileError, "packages")
    except LockfileError as exc:
        if exc.hint is None:  # unreadable or not TOML (a merge conflict left in it?)
            exc.hint = "regenerate the file with your lock tool"
        raise
    _check_version(path, text, data)
    entries = data.get("packages")
    try:
        if type(entries) is not list:
            Pylock.from_dict(data)  # raises: `packages` missing or not an array
            raise AssertionError("unreachable")  # pragma: no cover
        top = Pylock.from_dict({**data, "packages": []})  # every key but the packages
        lines: list[int | None] = list(headers) if len(headers) == len(entries) else [None] * len(entries)
        quick = Quick()
        edges: dict[tuple[str, str | None], Dependency] = {}  # (name, version) -> the edge, shared
        packages: list[LockedPackage] = []
        direct: list[Package] = []
        for index, line in enumerate(lines):
            # Each table is let go once read: freed while still in the cache, its memory
            # reused by the next (5% of a 20,000-package read). The error path parses again.
            entry, entries[index] = entries[index], None
            fast = quick.package(entry)
            if fast is not None:
                packages.append(_quick_package(path, fast, entry, line, edges))
                continue
            # Not the common shape, or invalid: packaging decides (and words the error).
            package = Pylock.from_dict({"lock-version": "1.0", "created-by": "layerplan", "packages": [entry]}).packages[0]
            packages.append(_package(path, package, line))
            direct.append(package)
    except PylockValidationError:
        try:  # the whole file again, so the error names the right entry and comes in packaging's order
            Pylock.from_dict(loads_toml(text))
        except PylockValidationError as exc:
            raise _validation_error(path, text, headers, exc) from exc
        raise  # pragma: no cover - a part failed, so the whole fails
    indexes: dict[str, None] = {}
    for locked in packages:
        if locked.index is not None:
            indexes.setdefault(locked.index)
    return Lock(
        path=path,
        format="pylock",
        packages=tuple(packages),
        graph=False,
        root_package=_root_package(path, direct),
        requires_python=str(top.requires_python) if top.requires_python is not None else None,
        indexes=tuple(indexes),
        default_groups=tuple(top.default_groups or ()),
    )


def _quick_package(
    path: Path,
    package: QuickPackage,
    entry: dict[str, Any],
    line: int | None,
    edges: dict[tuple[str, str | None], Dependency] | None = None,
) -> LockedPackage:
    """An index package the quick path validated (``_package``'s registry case)."""
    dependencies: tuple[Dependency, ...] = ()
    items = entry.get("dependencies")
    if items:
        edges = {} if edges is None else edges
        found = []
        for item in items:  # the common case of _dependency inline: thousands per lock
            name, version = item.get("name"), item.get("version")
            edge = edges.get((name, version)) if type(name) is str and type(version) in _STR_OR_NONE else None
            if edge is None:
                edge = _dependency(path, package.name, item, line, edges)
            found.append(edge)
        dependencies = tuple(found)
    return locked_package(
        package.name,
        package.version,
        _registry(package.index),
        package.wheels,
        package.sdist,
        (),
        package.marker,
        dependencies,
        {},
        {},
        (),
        package.index,
        line,
    )


def _check_version(path: Path, text: str, data: dict[str, Any]) -> None:
    """Reject other major versions up front, with a clearer message than the validator's.

    Newer 1.x minor versions are read (PEP 751: readers SHOULD only warn on them);
    ``packaging`` logs that warning.
    """
    raw = data.get("lock-version")
    if raw is None:
        raise LockfileError(
            "missing `lock-version`",
            path=path,
            line=1,
            key="lock-version",
            hint='a PEP 751 lockfile starts with lock-version = "1.0"',
        )
    try:
        version = Version(raw) if isinstance(raw, str) else None
    except InvalidVersion:
        version = None
    if version is None or not Version("1") <= version < Version("2.dev0"):
        raise LockfileError(
            f"unsupported pylock lock-version {raw!r} (layerplan reads 1.0)",
            path=path,
            line=line_of(text, "lock-version"),
            key="lock-version",
            hint="regenerate it with a tool that writes PEP 751 version 1.0, or upgrade layerplan",
        )


def _validation_error(path: Path, text: str, headers: list[int], exc: PylockValidationError) -> LockfileError:
    """``Missing required value in 'packages[3].wheels[0].hashes'`` -> file:line `key`: ..."""
    from packaging.pylock import PylockUnsupportedVersionError

    context = exc.context or ""
    # Marker errors span several lines (the marker and a caret under it): keep one.
    message = " ".join(part.strip() for part in exc.message.splitlines()[:2])
    if context.endswith("marker") or "environments" in context:
        hint = "fix the marker (PEP 508 syntax, PEP 751 variables) or " + _REGENERATE
    elif isinstance(exc, PylockUnsupportedVersionError):
        hint = "regenerate it with a tool that writes PEP 751 version 1.0"
    else:
        hint = _REGENERATE
    return LockfileError(
        f"invalid pylock file: {message}",
        path=path,
        line=_guess_line(text, headers, context),
        key=context or None,
        hint=hint,
    )


def _guess_line(text: str, headers: list[int], context: str) -> int:
    """The line of the deepest key of ``context`` found in its ``[[packages]]`` entry
    (or before the first entry, for top-level keys); else the entry's header (or line 1,
    where a missing top-level key belongs)."""
    keys = _CONTEXT_KEYS.findall(context)
    lines = text.splitlines()
    start, end = 1, (headers[0] - 1 if headers else len(lines))
    match = _CONTEXT_PACKAGE.match(context)
    if match is not None and int(match.group(1)) < len(headers):
        index = int(match.group(1))
        start = headers[index]
        end = headers[index + 1] - 1 if index + 1 < len(headers) else len(lines)
        keys = keys[1:]
    for key in reversed(keys):
        for number in range(start, end + 1):
            if key in lines[number - 1]:
                return number
    return start


def _root_package(path: Path, packages: Sequence[Package]) -> NormalizedName | None:
    """The project itself: a ``directory`` entry for the lockfile's own directory.

    Lock tools list the project they lock like any dependency (uv: ``directory = {
    path = ".", editable = true }``); it is built into the project's layer instead.
    """
    here = os.path.normpath(path.parent)
    for package in packages:
        if package.directory is not None and os.path.normpath(path.parent / package.directory.path) == here:
            return package.name
    return None


def _package(path: Path, package: Package, line: int | None) -> LockedPackage:
    # Not `wheel.filename`: it parses the URL again, and validation already checked it.
    wheels = tuple(_file("wheel", _filename(wheel), wheel) for wheel in package.wheels or ())
    sdist = _file("sdist", _filename(package.sdist), package.sdist) if package.sdist is not None else None
    if package.vcs is not None:
        vcs = package.vcs
        if vcs.type != "git":
            raise LockfileError(
                f"package `{package.name}`: {vcs.type} repositories are not supported (only git)",
                path=path,
                line=line,
                key="vcs.type",
                hint="lock the package from an index, an archive or a git repository",
            )
        source = Source(kind="git", url=vcs.url, path=vcs.path, reference=vcs.commit_id, subdirectory=vcs.subdirectory)
    elif package.directory is not None:
        directory = package.directory
        kind: SourceKind = "editable" if directory.editable else "directory"
        source = Source(kind=kind, path=directory.path, subdirectory=directory.subdirectory)
    elif package.archive is not None:
        archive = package.archive
        if archive.url is not None:
            source = Source(kind="url", url=archive.url, subdirectory=archive.subdirectory)
        else:
            source = Source(kind="path", path=archive.path, subdirectory=archive.subdirectory)
        # The archive is the one file the package has: record it like a registry file.
        filename = _basename(archive.url or archive.path)
        if filename is not None and filename.endswith(".whl"):
            wheels = (_file("wheel", filename, archive),)
        else:
            sdist = _file("sdist", filename, archive)
    else:
        source = Source(kind="registry", url=package.index)
    return LockedPackage(
        name=package.name,
        version=str(package.version) if package.version is not None else None,
        source=source,
        wheels=wheels,
        sdist=sdist,
        marker=package.marker,
        dependencies=tuple(_dependency(path, package.name, item, line) for item in package.dependencies or ()),
        index=package.index,
        line=line,
    )


@functools.lru_cache(maxsize=64)
def _registry(index: str | None) -> Source:
    """One (frozen) ``Source`` per index: a lock's packages share a few."""
    return Source(kind="registry", url=index)


def _file(kind: FileKind, filename: str | None, file: PackageWheel | PackageSdist | PackageArchive) -> LockedFile:
    hashes = [f"{algorithm}:{digest}" for algorithm, digest in file.hashes.items()]
    if len(hashes) > 1:
        hashes.sort()
    return LockedFile(kind=kind, filename=filename, url=file.url, hashes=tuple(hashes), size=file.size)


def _dependency(
    path: Path, package: str, item: Any, line: int | None, edges: dict[tuple[str, str | None], Dependency] | None = None
) -> Dependency:
    """PEP 751 ``dependencies`` entries point at other entries (``name`` plus enough keys
    to pick one); they carry no markers or extras of their own. ``edges`` keeps one
    (frozen) edge per name and version for a read: most are asked for several times."""
    name, version = item.get("name"), item.get("version")
    if edges is not None and type(name) is str and (version is None or type(version) is str):
        edge = edges.get((name, version))
        if edge is None:
            edge = edges[(name, version)] = dependency(canonicalize_name(name), (), None, version)
        return edge
    if not isinstance(name, str) or (version is not None and not isinstance(version, str)):
        raise LockfileError(
            f"package `{package}`: each dependency needs a string `name` (and `version`, if any)",
            path=path,
            line=line,
            key="dependencies",
            hint=_REGENERATE,
        )
    return dependency(canonicalize_name(name), (), None, version)


def _filename(file: PackageWheel | PackageSdist) -> str | None:
    return file.name or _basename(file.path or file.url)


def _basename(location: str | None) -> str | None:
    """The file name at the end of a URL or a (POSIX or Windows) path, percent-decoded."""
    if not location:
        return None
    name = location.split("#", 1)[0].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return (unquote(name) if "%" in name else name) or None
