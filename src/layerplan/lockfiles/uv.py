"""Reader for uv's ``uv.lock`` (lock ``version = 1``, any ``revision``).

A uv lock is a graph: every ``[[package]]`` lists its ``dependencies`` (with markers,
extras and, where uv forked the resolution, the exact ``version``), its optional
dependencies per extra and its development groups. The project itself is the entry
whose source is ``"."`` (``editable``, ``virtual`` or ``directory``); its dependencies
are where the walk starts (``Lock.roots``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from packaging.markers import InvalidMarker, Marker
from packaging.utils import NormalizedName, canonicalize_name

from layerplan._toml import TextLines, bulk, line_of, load_lock_toml
from layerplan.errors import LockfileError
from layerplan.hookspecs import hookimpl
from layerplan.lockfiles._fast import dependency, locked_file, locked_package
from layerplan.lockfiles.format import LockFormat, builtin_format
from layerplan.lockfiles.model import (
    Dependency,
    FileKind,
    Lock,
    LockedFile,
    LockedPackage,
    Source,
    SourceKind,
)

__all__ = ["SUPPORTED_VERSION", "layerplan_lock_formats", "read_uv_lock"]

SUPPORTED_VERSION = 1
"""The ``version`` of uv.lock this reader understands; ``revision`` changes within it are
additive, so every revision is read."""

_SOURCE_KINDS: tuple[SourceKind, ...] = ("registry", "git", "url", "path", "directory", "editable", "virtual")
_LOCAL_KINDS = frozenset({"path", "directory", "editable", "virtual"})
_PROJECT_KINDS = frozenset({"editable", "virtual", "directory"})
_GIT_REF_PARAMS = frozenset({"rev", "tag", "branch"})
_REGENERATE = "regenerate it with `uv lock`"
_NO_EXTRAS: tuple[str, ...] = ()


@hookimpl
def layerplan_lock_formats() -> list[LockFormat]:
    """uv.lock, the preferred lockfile when a project has several."""
    return [builtin_format("uv", read_uv_lock)]


@bulk()
def read_uv_lock(path: Path) -> Lock:
    """Read a ``uv.lock`` into a graph ``Lock``.

    Raises ``LockfileError`` (with the file, a line and a hint) when the file is not
    TOML, has another lock ``version``, misses a required field or holds a marker that
    does not parse.
    """
    try:
        data, text, headers = load_lock_toml(path, LockfileError, "package")
    except LockfileError as exc:
        if exc.hint is None:  # unreadable or not TOML (a merge conflict left in it?)
            exc.hint = _REGENERATE
        raise
    return _Reader(path, text, headers).read(data)


class _Reader:
    """One read of one file; caches markers and names, which repeat a lot in a lock."""

    def __init__(self, path: Path, text: str, headers: list[int]) -> None:
        self.path = path
        self.text = text
        self.headers = headers  # the line of each `[[package]]` header
        self.markers: dict[str, Marker] = {}
        self.names: dict[str, NormalizedName] = {}
        self.sources: dict[tuple[SourceKind, str], Source] = {}

    def error(self, message: str, *, line: int | None, key: str | None = None, hint: str = _REGENERATE) -> LockfileError:
        return LockfileError(message, path=self.path, line=line, key=key, hint=hint)

    def read(self, data: dict[str, Any]) -> Lock:
        self.check_version(data)
        entries = data.get("package", [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise self.error("`package` must be an array of tables", line=line_of(self.text, "package"))
        # `[[package]]` headers are the only way uv writes packages; if the counts differ
        # (hand-written inline tables) lines are unknown rather than wrong.
        lines: list[int | None] = list(self.headers) if len(self.headers) == len(entries) else [None] * len(entries)
        packages = tuple(self.packages(entries, lines))

        root = next((p for p in packages if p.source.kind in _PROJECT_KINDS and p.source.path == "."), None)
        indexes: dict[str, None] = {}
        for package in packages:
            if package.index is not None:
                indexes.setdefault(package.index)
        members = data.get("manifest", {}).get("members", []) if isinstance(data.get("manifest"), dict) else []
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise self.error("`manifest.members` must be an array of names", line=line_of(self.text, "members"))
        requires_python = data.get("requires-python")
        if requires_python is not None and not isinstance(requires_python, str):
            raise self.error("`requires-python` must be a string", line=line_of(self.text, "requires-python"))
        return Lock(
            path=self.path,
            format="uv",
            packages=packages,
            graph=True,
            roots=root.dependencies if root is not None else None,
            root_package=root.name if root is not None else None,
            requires_python=requires_python,
            indexes=tuple(indexes),
            workspace_members=tuple(self.name(m) for m in members),
        )

    def packages(self, entries: list[Any], lines: list[int | None]) -> list[LockedPackage]:
        packages = []
        for index, line in enumerate(lines):
            # Each table is let go once read: freed while still in the cache, its memory
            # reused by the next (a few percent of a 20,000-package read).
            entry, entries[index] = entries[index], None
            packages.append(self.package(entry, line))
        return packages

    def check_version(self, data: Mapping[str, Any]) -> None:
        version = data.get("version")
        if version is None:
            raise self.error("missing the lock `version`", line=1, hint=f"is this a uv lockfile? {_REGENERATE}")
        if isinstance(version, bool) or not isinstance(version, int):
            raise self.error(f"lock `version` must be an integer, not {version!r}", line=line_of(self.text, "version"))
        if version != SUPPORTED_VERSION:
            raise self.error(
                f"unsupported uv.lock version {version} (layerplan reads version {SUPPORTED_VERSION})",
                line=line_of(self.text, "version"),
                key="version",
                hint="regenerate it with a uv that writes version 1, or upgrade layerplan",
            )

    def package(self, entry: Mapping[str, Any], line: int | None) -> LockedPackage:
        raw_name = entry.get("name")
        if not isinstance(raw_name, str) or not raw_name:
            raise self.error("package without a `name`", line=line, key="name")
        name = self.name(raw_name)
        where = f"package `{raw_name}`"
        version = entry.get("version")
        if version is not None and not isinstance(version, str):
            raise self.error(f"{where}: `version` must be a string", line=line, key="version")
        source = self.source(entry.get("source"), where, line)
        wheels = entry.get("wheels", [])
        if not isinstance(wheels, list):
            raise self.error(f"{where}: `wheels` must be an array", line=line, key="wheels")
        sdist = entry.get("sdist")
        return locked_package(
            name,
            version,
            source,
            tuple([self.file(w, "wheel", where, line) for w in wheels]),
            self.file(sdist, "sdist", where, line) if sdist is not None else None,
            (),
            None,
            self.dependencies(entry.get("dependencies", []), f"{where} `dependencies`", line),
            self.groups(entry, "optional-dependencies", where, line),
            self.groups(entry, "dev-dependencies", where, line),
            (),
            source.url if source.kind == "registry" else None,
            line,
        )

    def source(self, value: object, where: str, line: int | None) -> Source:
        if value is None:
            raise self.error(f"{where}: missing required field `source`", line=line, key="source")
        kinds = [k for k in _SOURCE_KINDS if isinstance(value, dict) and k in value]
        if not isinstance(value, dict) or len(kinds) != 1:
            raise self.error(
                f"{where}: `source` must name exactly one of {', '.join(_SOURCE_KINDS)}",
                line=line,
                key="source",
            )
        kind = kinds[0]
        location = value[kind]
        if not isinstance(location, str):
            raise self.error(f"{where}: `source.{kind}` must be a string", line=line, key="source")
        subdirectory = value.get("subdirectory")
        if subdirectory is not None and not isinstance(subdirectory, str):
            raise self.error(f"{where}: `source.subdirectory` must be a string", line=line, key="source")
        if kind == "git":
            source = _git_source(location, subdirectory)
            if source.reference is None:
                raise self.error(
                    f"{where}: git source {location!r} pins no commit (expected `...#<commit>`)",
                    line=line,
                    key="source",
                )
            return source
        if kind in _LOCAL_KINDS:
            return Source(kind=kind, path=location, subdirectory=subdirectory)
        if subdirectory is None:  # an index's packages share one (frozen) Source
            shared = self.sources.get((kind, location))
            if shared is None:
                shared = self.sources[(kind, location)] = Source(kind=kind, url=location)
            return shared
        return Source(kind=kind, url=location, subdirectory=subdirectory)

    def file(self, value: object, kind: FileKind, where: str, line: int | None) -> LockedFile:
        # Runs once per wheel (thousands per lock): plain type checks, no helpers.
        if type(value) is not dict:
            raise self.error(f"{where}: each {kind} must be a table", line=line, key="wheels" if kind == "wheel" else kind)
        url, filename, digest, size = value.get("url"), value.get("filename"), value.get("hash"), value.get("size")
        location = url if url is not None else value.get("path")
        if location is not None and type(location) is not str or filename is not None and type(filename) is not str:
            raise self.error(f"{where}: a {kind}'s `url`, `path` and `filename` must be strings", line=line)
        if location is None and filename is None:
            raise self.error(f"{where}: a {kind} has no `url`, `path` or `filename`", line=line)
        if digest is not None and type(digest) is not str:
            raise self.error(f"{where}: a {kind}'s `hash` must be a string", line=line)
        if size is not None and type(size) is not int:
            raise self.error(f"{where}: a {kind}'s `size` must be an integer", line=line)
        return locked_file(kind, filename or _basename(location), url, (digest,) if digest else (), size)

    def groups(self, entry: Mapping[str, Any], key: str, where: str, line: int | None) -> dict[str, tuple[Dependency, ...]]:
        table = entry.get(key)
        if table is None:
            return {}
        if not isinstance(table, dict):
            raise self.error(f"{where}: `{key}` must be a table", line=line, key=key)
        return {
            self.name(group): self.dependencies(deps, f"{where} `{key}.{group}`", line)
            for group, deps in table.items()
        }

    def dependencies(self, value: object, where: str, line: int | None) -> tuple[Dependency, ...]:
        if not isinstance(value, list):
            raise self.error(f"{where} must be an array", line=line)
        return tuple([self.dependency(item, where, line) for item in value])

    def dependency(self, item: object, where: str, line: int | None) -> Dependency:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise self.error(f"{where}: each dependency must be a table with a `name`", line=line)
        extras = item.get("extra", _NO_EXTRAS)
        version = item.get("version")
        marker = item.get("marker")
        if extras is not _NO_EXTRAS and (not isinstance(extras, (list, tuple)) or not all(isinstance(e, str) for e in extras)):
            raise self.error(f"{where}: `extra` of `{item['name']}` must be an array of strings", line=line)
        if version is not None and not isinstance(version, str):
            raise self.error(f"{where}: `version` of `{item['name']}` must be a string", line=line)
        return dependency(
            self.name(item["name"]),
            tuple(self.name(e) for e in extras) if extras else (),
            self.marker(marker, where, line) if marker is not None else None,
            version,
        )

    def marker(self, value: object, where: str, line: int | None) -> Marker:
        if not isinstance(value, str):
            raise self.error(f"{where}: `marker` must be a string", line=line, key="marker")
        marker = self.markers.get(value)
        if marker is None:
            try:
                marker = self.markers[value] = Marker(value)
            except InvalidMarker as exc:
                at = TextLines(self.text).find(value, line or 1) or line  # the error path only
                reason = str(exc).splitlines()[0]
                raise self.error(
                    f"{where}: invalid marker {value!r}: {reason}",
                    line=at,
                    key="marker",
                    hint="fix the marker (PEP 508 syntax) or regenerate the lock with `uv lock`",
                ) from exc
        return marker

    def name(self, value: str) -> NormalizedName:
        name = self.names.get(value)
        if name is None:
            name = self.names[value] = canonicalize_name(value)
        return name


def _git_source(location: str, subdirectory: str | None) -> Source:
    """``https://host/repo?rev=main&subdirectory=pkg#<commit>`` -> url, commit, subdirectory.

    The query keeps what was asked for (branch/tag/rev); the fragment is the commit the
    lock pins, which is all an install needs.
    """
    parts = urlsplit(location)
    query = parse_qsl(parts.query, keep_blank_values=True)
    for key, value in query:
        if key == "subdirectory" and subdirectory is None:
            subdirectory = value
    rest = [(k, v) for k, v in query if k not in _GIT_REF_PARAMS and k != "subdirectory"]
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), ""))
    return Source(kind="git", url=url, reference=parts.fragment or None, subdirectory=subdirectory)


def _basename(location: str | None) -> str | None:
    """The file name at the end of a URL or path (percent-decoded), without urlsplit:
    this runs once per wheel, thousands of times per lock."""
    if not location:
        return None
    name = location.rpartition("/")[2]
    if not name or "#" in location or "?" in location:  # rare: a query, a fragment or a trailing slash
        name = location.split("#", 1)[0].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return (unquote(name) if "%" in name else name) or None
