"""Direct references in requirement lines: URLs, VCS URLs and local paths.

``name @ https://.../x.whl``, a bare ``./libs/helper`` or ``https://.../x-1.0.tar.gz``,
``-e ./libs/helper`` and ``-e git+https://host/repo@commit#egg=name`` all pin a package
by where it is rather than by version. This module turns one into a ``LockedPackage``,
finding the name the way pip does (``name @``, ``#egg=``, the archive's file name, or
the directory's ``pyproject.toml``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from packaging.markers import Marker
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from layerplan._toml import load_toml
from layerplan.errors import LockfileError
from layerplan.lockfiles._common import Entries, file_kind, filename_of_url
from layerplan.lockfiles.model import LockedFile, LockedPackage, Source

__all__ = ["DirectReference", "direct_reference", "locked_direct"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_URL_MARKER = re.compile(r"\s+;")
_EXTRAS_SUFFIX = re.compile(r"\[[^\]]*\]$")
_OTHER_VCS = ("hg+", "svn+", "bzr+")


@dataclass(frozen=True, slots=True)
class DirectReference:
    """A requirement that names a location: the location, and the name and marker if known."""

    location: str
    name: str | None = None
    marker: str | Marker | None = None


def direct_reference(text: str) -> DirectReference | None:
    """A bare URL or path (``./x``, ``/x``, ``https://...``, ``git+...``), with its marker.

    ``None`` when ``text`` starts with a name (``attrs==1``, ``six @ https://...``).
    """
    is_url = _SCHEME.match(text) is not None and not _WINDOWS_DRIVE.match(text)
    if not (is_url or text.startswith((".", "/", "~", "\\")) or _WINDOWS_DRIVE.match(text)):
        return None
    # pip needs whitespace before the ``;`` of a URL's marker (a ``;`` may be part of a URL).
    parts = _URL_MARKER.split(text, maxsplit=1) if is_url else text.split(";", 1)
    marker = parts[1].strip() if len(parts) > 1 else None
    return DirectReference(location=parts[0].strip(), marker=marker)


def locked_direct(
    entries: Entries,
    reference: DirectReference,
    hashes: tuple[str, ...],
    *,
    line: int,
    base: Path,
    top: Path,
    editable: bool = False,
) -> LockedPackage:
    """The package ``reference`` pins. ``base`` is the directory of the file it is written in,
    ``top`` the directory of the lockfile (local paths are made relative to it).

    Raises ``LockfileError`` when the name cannot be found or the VCS is not git.
    """
    marker = reference.marker
    if not isinstance(marker, Marker):
        marker = entries.marker(marker, line=line)
    location = reference.location
    fragment = _fragment(location)
    for algorithm in ("sha256", "sha384", "sha512"):
        if algorithm in fragment:
            hashes = tuple(sorted(set(hashes) | {entries.hash(f"{algorithm}:{fragment[algorithm]}", line=line)}))
    egg = fragment.get("egg")
    subdirectory = fragment.get("subdirectory")
    name: NormalizedName | None = None
    for candidate in (reference.name, egg):
        if candidate:
            name = entries.name(_EXTRAS_SUFFIX.sub("", candidate), line=line)
            break
    version: str | None = None
    wheels: tuple[LockedFile, ...] = ()
    sdist: LockedFile | None = None
    if location.startswith("git+"):
        source = _git_source(location, subdirectory)
    elif location.startswith(_OTHER_VCS):
        raise entries.error(
            f"{location.split('+', 1)[0]} requirements are not supported (layerplan reads git, paths, URLs and indexes)",
            line=line,
            hint="depend on a git repository, a package index or a path instead",
        )
    else:
        source, archive = _location_source(entries, location, line, base, top, editable)
        if archive is not None:
            kind = file_kind(archive)
            url = source.url if source.kind == "url" else None
            if kind is not None:
                locked = LockedFile(kind=kind, filename=archive, url=url, hashes=hashes)
                wheels, sdist = ((locked,), None) if kind == "wheel" else ((), locked)
            archive_name, version = _from_filename(archive)
            name = name or archive_name
        elif source.kind in ("directory", "editable") and (name is None or version is None):
            project_name, version = _from_pyproject(base / _strip_extras(_local_path(location)))
            name = name or project_name
    if name is None:
        raise entries.error(
            f"cannot tell which package {location!r} is",
            line=line,
            hint="write it as `name @ URL`, or add `#egg=name` to the URL",
        )
    return LockedPackage(
        name=name,
        version=version,
        source=source,
        wheels=wheels,
        sdist=sdist,
        marker=marker,
        line=line,
    )


def _fragment(location: str) -> dict[str, str]:
    fragment = urlsplit(location).fragment if "#" in location else ""
    return {key: values[0] for key, values in parse_qs(fragment).items()}


def _git_source(location: str, subdirectory: str | None) -> Source:
    """``git+https://host/repo.git@ref#...`` -> repository URL and ref."""
    parts = urlsplit(location.removeprefix("git+"))
    path, reference = parts.path, None
    if "@" in path:
        path, reference = path.rsplit("@", 1)
    url = urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
    return Source(kind="git", url=url, reference=unquote(reference) if reference else None, subdirectory=subdirectory)


def _location_source(
    entries: Entries, location: str, line: int, base: Path, top: Path, editable: bool
) -> tuple[Source, str | None]:
    """The source of a URL or path, and its archive's file name (``None`` for a tree)."""
    if _SCHEME.match(location) and not location.startswith("file:") and not _WINDOWS_DRIVE.match(location):
        url = location.split("#", 1)[0]
        return Source(kind="url", url=url), filename_of_url(url)
    raw = _strip_extras(_local_path(location))
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path(os.path.relpath(base / path, top))
    text = path.as_posix()
    if file_kind(text) is not None:
        return Source(kind="path", path=text), path.name
    return Source(kind="editable" if editable else "directory", path=text), None


def _local_path(location: str) -> str:
    """A ``file:`` URL's path, or the path as written (without a ``#`` fragment)."""
    if location.startswith("file:"):
        from urllib.request import url2pathname  # 18 ms of imports (http.client, email): only here

        return url2pathname(urlsplit(location).path)
    return location.split("#", 1)[0]


def _strip_extras(path: str) -> str:
    return _EXTRAS_SUFFIX.sub("", path)


def _from_filename(filename: str) -> tuple[NormalizedName | None, str | None]:
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None, None
    return name, str(version)


def _from_pyproject(directory: Path) -> tuple[NormalizedName | None, str | None]:
    """``[project] name`` and static ``version`` of a local tree, when it has them."""
    pyproject = directory / "pyproject.toml"
    try:
        if not pyproject.is_file():
            return None, None
    except OSError:  # a name the system refuses (too long): no tree there
        return None, None
    data, _ = load_toml(pyproject, LockfileError)
    project = data.get("project", {})
    if not isinstance(project, dict):
        return None, None
    name, version = project.get("name"), project.get("version")
    return (
        canonicalize_name(name) if isinstance(name, str) and name else None,
        version if isinstance(version, str) else None,
    )
