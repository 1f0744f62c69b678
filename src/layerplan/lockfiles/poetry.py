"""Reader for Poetry's ``poetry.lock`` (``lock-version`` 2.x).

**Flat for lock-version 2.1 and later (Poetry >= 2.0), graph for 2.0 (Poetry 1.x).**

Poetry 2 records, for every package, the ``groups`` that need it and the ``markers``
under which they do (a string, or a table per group when the groups differ). That is
the whole answer to "what does this target install", already worked out by Poetry's
resolver; it is also what ``poetry install`` itself uses (``installer.re-resolve =
false``, the default since Poetry 2.0). A graph walk would be worse here:

* the lock has no root package, so the walk must start from the project's own
  dependencies, and Poetry projects often keep them (and every dev group) in
  ``[tool.poetry.dependencies]`` / ``[tool.poetry.group.*]`` in Poetry's own syntax;
* ``[package.dependencies]`` holds constraints, not pins, so where Poetry forked the
  resolution (``click`` 8.1.8 below Python 3.10, 8.5.1 above) a walk needs a solver;
  the locked markers already say which copy applies where.

So a 2.1 lock is read with ``Lock.graph = False``: each package carries ``groups`` and
one ``marker``. Where the per-group markers differ, the marker says so itself with
PEP 751's ``"dev" in dependency_groups``, so one marker stays exact for any set of
groups. Packages wanted only through one of the project's extras have Poetry's
``extra == "name"`` in their marker. ``Lock.default_groups = ("main",)``.

How to select from it: a package is installed when its ``groups`` meet the wanted
groups and its ``marker`` (if any) holds for ``Marker.evaluate(env | {"extra":
extras, "extras": extras, "dependency_groups": groups}, context="lock_file")``, with
``extras`` and ``groups`` as sets of names.

A 2.0 lock lacks ``groups``/``markers``; Poetry itself can only install from it by
re-resolving. It is read with ``Lock.graph = True`` and ``roots = None`` (start from
the project's requirements); ``Dependency.version`` is set where the constraint
singles out one of several locked versions.

``[package.dependencies]`` and ``[package.extras]`` are read in both cases. A package
without ``[package.source]`` comes from PyPI, so its ``index`` says so; ``Lock.indexes``
lists the indexes packages name, in the order they first appear (the lock does not
record Poetry's source priorities, only which source each package came from).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from layerplan._toml import bulk, line_of, load_toml
from layerplan.errors import LockfileError
from layerplan.hookspecs import hookimpl
from layerplan.lockfiles._common import Entries, package_array, pick_version
from layerplan.lockfiles.format import LockFormat, builtin_format
from layerplan.lockfiles.model import Dependency, Lock, LockedFile, LockedPackage, Source
from layerplan.project.poetry_constraint import poetry_constraint

__all__ = ["PYPI_SIMPLE", "layerplan_lock_formats", "read_poetry_lock"]

PYPI_SIMPLE = "https://pypi.org/simple"
"""Where Poetry takes a package whose entry has no ``[package.source]``."""
_REGENERATE = "regenerate it with `poetry lock`"
_MAIN_GROUP = "main"
_PYPI = Source(kind="registry", url=PYPI_SIMPLE)  # shared: frozen, and most entries come from PyPI
_EXTRA_EQ = re.compile(r'\bextra == "([^"]*)"|"([^"]*)" == extra\b')
_EXTRA_NE = re.compile(r'\bextra != "([^"]*)"|"([^"]*)" != extra\b')


@hookimpl
def layerplan_lock_formats() -> list[LockFormat]:
    """poetry.lock, after uv.lock and pylock.toml."""
    return [builtin_format("poetry", read_poetry_lock)]


@bulk()
def read_poetry_lock(path: Path) -> Lock:
    """Read a ``poetry.lock`` (lock-version 2.0 as a graph, 2.1+ flat).

    Raises ``LockfileError`` (file, line, hint) when the file is not TOML, has another
    lock-version, misses a field or holds a marker, hash or requirement that does not
    parse.
    """
    data, text = load_toml(path, LockfileError, "package")
    entries = Entries(path, text, _REGENERATE)
    metadata = entries.table(data, "metadata", line=None, where="")
    meta_line = line_of(text, "[metadata]") or 1
    if not metadata:
        raise entries.error("missing [metadata]: not a poetry.lock", line=None, hint="regenerate it with `poetry lock`")
    flat = _check_version(entries, metadata, meta_line)
    raw_packages, lines, names = package_array(entries, data, text)
    versions: dict[NormalizedName, list[str]] = {}
    for package, name, line in zip(raw_packages, names, lines):
        versions.setdefault(name, []).append(
            entries.string(package, "version", line=line, where=f"package.{name}") or ""
        )
    packages = tuple(
        _package(entries, package, name, line, flat, versions)
        for package, name, line in zip(raw_packages, names, lines)
    )
    indexes = tuple(dict.fromkeys(p.index for p in packages if p.index is not None))
    return Lock(
        path=path,
        format="poetry",
        packages=packages,
        graph=not flat,
        roots=None,
        requires_python=_requires_python(entries, metadata, meta_line),
        indexes=indexes,
        default_groups=(_MAIN_GROUP,) if flat else (),
    )


def _check_version(entries: Entries, metadata: Mapping[str, Any], line: int | None) -> bool:
    """Accept lock-version 2.x; return True when it records groups and markers (>= 2.1)."""
    raw = metadata.get("lock-version")
    if raw is None:
        raise entries.error(
            "missing `lock-version`: written by Poetry < 1.0 or not a poetry.lock",
            line=line,
            key="metadata.lock-version",
        )
    try:
        version = Version(str(raw))
    except InvalidVersion:
        raise entries.error(f"invalid lock-version {raw!r}", line=line, key="metadata.lock-version") from None
    if version.major != 2:
        raise entries.error(
            f"lock-version {raw} is not supported (layerplan reads 2.x, written by Poetry >= 1.5)",
            line=entries.line_of("lock-version", line),
            key="metadata.lock-version",
            hint="regenerate it with a current Poetry: `poetry lock`",
        )
    return version.release >= (2, 1)


def _requires_python(entries: Entries, metadata: Mapping[str, Any], line: int | None) -> str | None:
    raw = entries.string(metadata, "python-versions", line=line, where="metadata", required=False)
    if raw is None:
        return None
    alternatives = poetry_constraint(raw)
    if alternatives is None:
        raise entries.error(
            f"invalid python-versions {raw!r}",
            line=entries.line_of("python-versions", line),
            key="metadata.python-versions",
        )
    if len(alternatives) != 1:
        # A union (``~2.7 || ^3.6``) has no single specifier set; say nothing rather than narrow it.
        return None
    return str(alternatives[0]) or None


def _package(
    entries: Entries,
    data: Mapping[str, Any],
    name: NormalizedName,
    line: int | None,
    flat: bool,
    versions: Mapping[NormalizedName, list[str]],
) -> LockedPackage:
    where = f"package.{name}"
    version = entries.string(data, "version", line=line, where=where)
    source, index = _source(entries, data, line, where)
    wheels, sdist = entries.files(data.get("files", []), line=line, where=where)
    if source.kind == "url":
        # A url package's one file is the source URL itself; the lock names it and its hash.
        wheels = tuple(_with_url(f, source.url) for f in wheels)
        sdist = _with_url(sdist, source.url) if sdist is not None else None
    groups: tuple[str, ...] = ()
    marker = None
    if flat:
        groups = entries.strings(data, "groups", line=line, where=where)
        if not groups:
            raise entries.error("missing `groups` (required from lock-version 2.1)", line=line, key=f"{where}.groups")
        marker = _marker(entries, data.get("markers"), groups, line, where)
    dependencies, optional = _dependencies(entries, data, line, where, versions)
    return LockedPackage(
        name=name,
        version=version,
        source=source,
        wheels=wheels,
        sdist=sdist,
        marker=marker,
        dependencies=dependencies,
        optional_dependencies=optional,
        groups=groups,
        index=index,
        line=line,
    )


def _with_url(file: LockedFile, url: str | None) -> LockedFile:
    return LockedFile(kind=file.kind, filename=file.filename, url=url, hashes=file.hashes, size=file.size)


def _source(entries: Entries, data: Mapping[str, Any], line: int | None, where: str) -> tuple[Source, str | None]:
    """The package's ``[package.source]``; no table means PyPI. Returns the index URL too."""
    table = entries.table(data, "source", line=line, where=where)
    if not table:
        return _PYPI, PYPI_SIMPLE
    where = f"{where}.source"
    kind = entries.string(table, "type", line=line, where=where)
    url = entries.string(table, "url", line=line, where=where)
    if kind == "legacy":
        return Source(kind="registry", url=url), url
    if kind == "url":
        return Source(kind="url", url=url, subdirectory=_optional(entries, table, "subdirectory", line, where)), None
    if kind == "file":
        return Source(kind="path", path=url), None
    if kind == "directory":
        develop = data.get("develop", False) is True
        return Source(kind="editable" if develop else "directory", path=url), None
    if kind == "git":
        commit = table.get("resolved_reference") or table.get("reference")
        return (
            Source(
                kind="git",
                url=url,
                reference=commit if isinstance(commit, str) else None,
                subdirectory=_optional(entries, table, "subdirectory", line, where),
            ),
            None,
        )
    raise entries.error(
        f"source type {kind!r} is not supported (layerplan reads legacy, url, file, directory and git)",
        line=entries.line_of("type", line),
        key=f"{where}.type",
        hint="depend on a git repository, a package index or a path instead",
    )


def _optional(entries: Entries, table: Mapping[str, Any], key: str, line: int | None, where: str) -> str | None:
    return entries.string(table, key, line=line, where=where, required=False)


def _marker(entries: Entries, raw: Any, groups: tuple[str, ...], line: int | None, where: str) -> Marker | None:
    """One marker for the package: the string, or the per-group table folded into one.

    A group missing from the table needs the package everywhere (Poetry reads it as
    ``*``).
    """
    try:
        return _folded_marker(entries, raw, groups, line, where)
    except LockfileError as exc:  # the line is looked for only now (once per package was slow)
        raise entries.relocated(exc, "markers", line) from None


def _folded_marker(entries: Entries, raw: Any, groups: tuple[str, ...], line: int | None, where: str) -> Marker | None:
    key = f"{where}.markers"
    if not isinstance(raw, Mapping):
        return _extras_as_set(entries, entries.marker(raw, line=line, key=key), line, key)
    parts = []
    for group in groups:
        group_marker = entries.marker(raw.get(group), line=line, key=f"{key}.{group}")
        clause = f'"{group}" in dependency_groups'
        if group_marker is None:
            parts.append(clause)
        else:
            parts.append(f"({clause} and ({group_marker}))")
    return _extras_as_set(entries, entries.marker(" or ".join(parts), line=line, key=key), line, key)


def _extras_as_set(entries: Entries, marker: Marker | None, line: int | None, key: str) -> Marker | None:
    """``extra == "x"`` -> ``"x" in extras`` (and ``!=`` -> ``not in``), PEP 751's form.

    ``str(Marker)`` always writes double quotes, and a marker value cannot hold one, so
    the rewrite is exact.
    """
    if marker is None:
        return None
    text = str(marker)
    if "extra" not in text:
        return marker
    text = _EXTRA_EQ.sub(lambda m: f'"{m.group(1) or m.group(2)}" in extras', text)
    text = _EXTRA_NE.sub(lambda m: f'"{m.group(1) or m.group(2)}" not in extras', text)
    return entries.marker(text, line=line, key=key)


def _dependencies(
    entries: Entries,
    data: Mapping[str, Any],
    line: int | None,
    where: str,
    versions: Mapping[NormalizedName, list[str]],
) -> tuple[tuple[Dependency, ...], dict[str, tuple[Dependency, ...]]]:
    """``[package.dependencies]`` without the optional ones, and ``[package.extras]``.

    An optional dependency is reached only through an extra, so it is left to the
    extra's list (taken from ``[package.extras]``, which holds PEP 508 strings).
    """
    table = entries.table(data, "dependencies", line=line, where=where)
    dependencies: list[Dependency] = []
    for raw_name, constraints in table.items():
        try:
            dep_name = entries.name(raw_name, line=line, key=f"{where}.dependencies")
            if isinstance(constraints, str):  # `name = ">=1.0"`, the usual case: no marker, no extras
                dependencies.append(Dependency(name=dep_name, version=_pick(dep_name, constraints, versions)))
                continue
            items = constraints if isinstance(constraints, list) else [constraints]
            for item in items:
                dependency = _dependency(entries, dep_name, item, line, f"{where}.dependencies.{raw_name}", versions)
                if dependency is not None:
                    dependencies.append(dependency)
        except LockfileError as exc:  # the entry's line is known; the dependency's is found on failure
            raise entries.relocated(exc, f"{raw_name} =", line) from None
    extras = entries.table(data, "extras", line=line, where=where)
    optional: dict[str, tuple[Dependency, ...]] = {}
    for extra, requirements in extras.items():
        if not isinstance(requirements, list):
            raise entries.error("an extra must be a list of requirements", line=line, key=f"{where}.extras.{extra}")
        optional[canonicalize_name(extra)] = tuple(
            _extra_dependency(entries, value, line, f"{where}.extras.{extra}", versions) for value in requirements
        )
    return tuple(dependencies), optional


def _dependency(
    entries: Entries,
    name: NormalizedName,
    item: Any,
    line: int | None,
    key: str,
    versions: Mapping[NormalizedName, list[str]],
) -> Dependency | None:
    if isinstance(item, str):
        item = {"version": item}
    if not isinstance(item, Mapping):
        raise entries.error(f"a dependency must be a version string or a table, not {item!r}", line=line, key=key)
    if item.get("optional", False) is True:
        return None
    marker = entries.marker(item.get("markers"), line=line, key=f"{key}.markers")
    extras = tuple(sorted(canonicalize_name(e) for e in entries.strings(item, "extras", line=line, where=key)))
    return Dependency(name=name, extras=extras, marker=marker, version=_pick(name, item.get("version"), versions))


def _pick(name: NormalizedName, constraint: Any, versions: Mapping[NormalizedName, list[str]]) -> str | None:
    """The locked version a Poetry constraint singles out, when several are locked."""
    locked = versions.get(name, ())
    if not isinstance(constraint, str) or len(locked) < 2:  # nothing to pick from
        return None
    alternatives = poetry_constraint(constraint)
    return pick_version(locked, *alternatives) if alternatives is not None else None


def _extra_dependency(
    entries: Entries, value: Any, line: int | None, key: str, versions: Mapping[NormalizedName, list[str]]
) -> Dependency:
    """``"PySocks (>=1.5.6,!=1.5.7)"`` or ``"brotli (>=1.2) ; marker"`` (PEP 508)."""
    if not isinstance(value, str):
        raise entries.error(f"a requirement must be a string, not {value!r}", line=line, key=key)
    try:
        requirement = Requirement(value)
    except InvalidRequirement:
        # Poetry itself falls back to ``name[extras] (constraint)`` in its own syntax.
        head, _, constraint = value.partition(" (")
        name_part, _, extra_part = head.partition("[")
        alternatives = poetry_constraint(constraint.rstrip(")")) if constraint else ()
        if alternatives is None:
            raise entries.error(f"invalid requirement {value!r}", line=entries.line_of(value, line), key=key) from None
        name = entries.name(name_part.strip(), line=line, key=key)
        return Dependency(
            name=name,
            extras=tuple(sorted(canonicalize_name(e) for e in extra_part.rstrip("]").split(",") if e.strip())),
            version=pick_version(versions.get(name, ()), *alternatives),
        )
    return entries.dependency(requirement, versions)
