"""Reader for PDM's ``pdm.lock`` (``lock_version`` 4.x).

**Flat when the lock was made with the ``inherit_metadata`` strategy (PDM's default),
graph otherwise.**

With ``inherit_metadata`` every package carries the ``groups`` that need it and the
``marker`` under which it is needed, computed by PDM's resolver over all the lock's
targets. PDM's own ``pdm sync`` installs straight from these, and they are exact
where a graph walk is not: ``dependencies`` are constraints, not pins, and with
several targets (``pdm lock --append``) one name is locked at several versions, which
only the markers tell apart. So such a lock is read with ``Lock.graph = False``.
PDM puts the project's extras in ``groups`` beside ``default`` and the dev groups
(``[project.optional-dependencies] yaml`` becomes group ``yaml``), and its markers
never mention ``extra``: select a package when its ``groups`` meet the wanted groups
(``default``, plus the extras and dev groups asked for) and its marker holds.
``Lock.default_groups = ("default",)``.

Without ``inherit_metadata`` packages have neither, so the lock is read as a graph
(``Lock.graph = True``, ``roots = None``: start from the project's ``pyproject.toml``).

PDM writes an entry per requested extra (``requests`` with ``extras = ["socks"]``)
whose dependencies are the base package plus the extra's requirements. Those entries
are folded into the base package's ``optional_dependencies`` rather than listed as
packages of their own, so each locked distribution appears once.

pdm.lock names no index; packages from an index have ``Source(kind="registry")``
without a URL (the project's ``[[tool.pdm.source]]`` says which index).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from layerplan._toml import bulk, line_of, load_toml
from layerplan.errors import LockfileError
from layerplan.hookspecs import hookimpl
from layerplan.lockfiles._common import Entries, file_kind, package_array
from layerplan.lockfiles.format import LockFormat, builtin_format
from layerplan.lockfiles.model import Dependency, Lock, LockedPackage, Source, SourceKind

__all__ = ["layerplan_lock_formats", "read_pdm_lock"]

_REGENERATE = "regenerate it with `pdm lock`"
_INHERIT = "inherit_metadata"
_REGISTRY = Source(kind="registry")  # shared: frozen, and most entries have this source


@hookimpl
def layerplan_lock_formats() -> list[LockFormat]:
    """pdm.lock, after poetry.lock."""
    return [builtin_format("pdm", read_pdm_lock)]


@bulk()
def read_pdm_lock(path: Path) -> Lock:
    """Read a ``pdm.lock`` (flat with ``inherit_metadata``, else a graph).

    Raises ``LockfileError`` (file, line, hint) when the file is not TOML, has another
    lock_version, misses a field or holds a marker, hash or requirement that does not
    parse.
    """
    data, text = load_toml(path, LockfileError, "package")
    entries = Entries(path, text, _REGENERATE)
    metadata = entries.table(data, "metadata", line=None, where="")
    meta_line = line_of(text, "[metadata]") or 1
    if not metadata:
        raise entries.error("missing [metadata]: not a pdm.lock", line=None)
    _check_version(entries, metadata, meta_line)
    strategy = entries.strings(metadata, "strategy", line=meta_line, where="metadata")
    flat = _INHERIT in strategy
    raw_packages, lines, names = package_array(entries, data, text)
    versions: dict[NormalizedName, list[str]] = {}
    for package, name in zip(raw_packages, names):
        version = package.get("version")
        if isinstance(version, str) and not package.get("extras") and version not in versions.get(name, []):
            versions.setdefault(name, []).append(version)
    base: list[LockedPackage] = []
    extra_entries: list[tuple[LockedPackage, tuple[str, ...]]] = []
    for package, name, line in zip(raw_packages, names, lines):
        locked = _package(entries, package, name, line, flat, versions)
        extras = entries.strings(package, "extras", line=line, where=f"package.{name}")
        if extras:
            extra_entries.append((locked, extras))
        else:
            base.append(locked)
    return Lock(
        path=path,
        format="pdm",
        packages=_fold_extras(base, extra_entries),
        graph=not flat,
        roots=None,
        requires_python=_requires_python(entries, metadata, meta_line),
        default_groups=("default",) if flat else (),
        extras_are_groups=True,
    )


def _check_version(entries: Entries, metadata: Mapping[str, Any], line: int | None) -> None:
    raw = metadata.get("lock_version")
    key = "metadata.lock_version"
    if raw is None:
        raise entries.error("missing `lock_version`: not a pdm.lock", line=line, key=key)
    try:
        version = Version(str(raw))
    except InvalidVersion:
        raise entries.error(f"invalid lock_version {raw!r}", line=line, key=key) from None
    if version.major != 4:
        raise entries.error(
            f"lock_version {raw} is not supported (layerplan reads 4.x, written by PDM >= 2.0)",
            line=entries.line_of("lock_version", line),
            key=key,
            hint="regenerate it with a current PDM: `pdm lock`",
        )


def _requires_python(entries: Entries, metadata: Mapping[str, Any], line: int | None) -> str | None:
    """The one target's range; with several targets there is no single range (``None``)."""
    targets = metadata.get("targets")
    if isinstance(targets, list):
        ranges = [t.get("requires_python") for t in targets if isinstance(t, Mapping)]
        if len(ranges) != 1 or not isinstance(ranges[0], str):
            return None
        raw: str | None = ranges[0]
    else:  # lock_version < 4.5 kept one range in [metadata]
        raw = entries.string(metadata, "requires_python", line=line, where="metadata", required=False)
    if raw is None:
        return None
    try:
        return str(entries.specifier(raw, line=line, key="metadata.requires_python")) or None
    except LockfileError as exc:  # its line is looked for only now (the text is big)
        raise entries.relocated(exc, "requires_python", line) from None


def _package(
    entries: Entries,
    data: Mapping[str, Any],
    name: NormalizedName,
    line: int | None,
    flat: bool,
    versions: Mapping[NormalizedName, list[str]],
) -> LockedPackage:
    where = f"package.{name}"
    version = entries.string(data, "version", line=line, where=where, required=False)
    source = _source(entries, data, line, where)
    wheels, sdist = entries.files(data.get("files", []), line=line, where=where)
    groups: tuple[str, ...] = ()
    marker = None
    if flat:
        groups = entries.strings(data, "groups", line=line, where=where)
        if not groups:
            raise entries.error(
                "missing `groups` (the lock's strategy has inherit_metadata)", line=line, key=f"{where}.groups"
            )
        try:
            marker = entries.marker(data.get("marker"), line=line, key=f"{where}.marker")
        except LockfileError as exc:  # looked for only now: once per package made big locks slow
            raise entries.relocated(exc, "marker =", line) from None
    dependencies = tuple(
        entries.requirement_edge(value, versions, line=line, key=f"{where}.dependencies")
        for value in entries.strings(data, "dependencies", line=line, where=where)
    )
    return LockedPackage(
        name=name,
        version=version,
        source=source,
        wheels=wheels,
        sdist=sdist,
        marker=marker,
        dependencies=dependencies,
        groups=groups,
        line=line,
    )


def _source(entries: Entries, data: Mapping[str, Any], line: int | None, where: str) -> Source:
    editable = data.get("editable", False) is True
    subdirectory = entries.string(data, "subdirectory", line=line, where=where, required=False)
    git = entries.string(data, "git", line=line, where=where, required=False)
    if git is not None:
        revision = entries.string(data, "revision", line=line, where=where)
        return Source(kind="git", url=git, reference=revision, subdirectory=subdirectory)
    url = entries.string(data, "url", line=line, where=where, required=False)
    if url is not None:
        return Source(kind="url", url=url, subdirectory=subdirectory)
    path = entries.string(data, "path", line=line, where=where, required=False)
    if path is not None:
        if editable:
            return Source(kind="editable", path=path, subdirectory=subdirectory)
        kind: SourceKind = "path" if file_kind(path) is not None else "directory"
        return Source(kind=kind, path=path, subdirectory=subdirectory)
    if data.get("version") is None:
        raise entries.error("missing `version`", line=line, key=f"{where}.version")
    return _REGISTRY


def _fold_extras(
    base: list[LockedPackage], extra_entries: list[tuple[LockedPackage, tuple[str, ...]]]
) -> tuple[LockedPackage, ...]:
    """Move each ``name[extra]`` entry's requirements into its base package.

    The extra entry's dependencies are the base package itself (pinned) plus what the
    extra adds; the self-reference is dropped. An extra entry without a base entry
    (not written by PDM) stays a package of its own.
    """
    by_key = {(p.name, p.version, p.source): i for i, p in enumerate(base)}
    merged = list(base)
    for entry, extras in extra_entries:
        index = by_key.get((entry.name, entry.version, entry.source))
        if index is None:
            merged.append(entry)
            continue
        target = merged[index]
        added = tuple(d for d in entry.dependencies if d.name != entry.name)
        optional = dict(target.optional_dependencies)
        for extra in extras:
            optional[canonicalize_name(extra)] = _union(optional.get(canonicalize_name(extra), ()), added)
        merged[index] = replace(target, optional_dependencies=optional)
    return tuple(merged)


def _union(first: tuple[Dependency, ...], second: tuple[Dependency, ...]) -> tuple[Dependency, ...]:
    return tuple(dict.fromkeys(first + second))
