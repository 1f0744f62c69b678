"""Reader for pipenv's ``Pipfile.lock`` (``_meta.pipfile-spec`` 6).

**Flat.** A Pipfile.lock records no dependency edges at all: ``default`` lists every
package a plain install takes, ``develop`` every package ``--dev`` adds, each with the
environment marker under which it is needed. So it is read with ``Lock.graph = False``:
``groups = ("default",)`` or ``("develop",)`` (both when pipenv lists the same pin in
both sections), ``Lock.default_groups = ("default",)``. A package is installed when its
groups meet the wanted groups and its marker holds. The ``extras`` of an entry need
nothing more: pipenv lists what an extra pulls in as entries of their own.

Entries name no files, only the allowed hashes (``LockedPackage.hashes``); the build
looks the file up on the entry's ``index`` (``_meta.sources`` gives the URLs, in
order, as ``Lock.indexes``).

pipenv resolves for the machine it runs on: a package whose marker is false there is
written unpinned (``"version": "*"``, no hashes). Such an entry is read with
``version = None`` and no hashes; it is only an error when a target selects it (the
selection step says so).

``_meta.requires`` (``python_version = "3.11"``) is not turned into
``Lock.requires_python``: it is the Pipfile's wish, which pipenv itself only enforces
with ``--deploy``, and Pipfile.lock files outlive it; the per-package markers carry the
real Python limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from layerplan._toml import bulk, load_json
from layerplan.errors import LockfileError
from layerplan.hookspecs import hookimpl
from layerplan.lockfiles._common import Entries, file_kind
from layerplan.lockfiles.format import LockFormat, builtin_format
from layerplan.lockfiles.model import Lock, LockedPackage, Source, SourceKind

__all__ = ["SECTIONS", "SUPPORTED_SPEC", "layerplan_lock_formats", "read_pipfile_lock"]

SUPPORTED_SPEC = 6
SECTIONS = ("default", "develop")
_REGENERATE = "regenerate it with `pipenv lock`"
_REGISTRY = Source(kind="registry")  # shared: frozen, and most entries have this source


@hookimpl
def layerplan_lock_formats() -> list[LockFormat]:
    """Pipfile.lock, after pdm.lock."""
    return [builtin_format("pipfile", read_pipfile_lock)]


@bulk()
def read_pipfile_lock(path: Path) -> Lock:
    """Read a ``Pipfile.lock`` into a flat ``Lock`` (groups ``default``/``develop``).

    Raises ``LockfileError`` (file, line, hint) when the file is not JSON, has another
    ``pipfile-spec``, names an unknown index, or holds a marker, version or hash that
    does not parse.
    """
    data, text = load_json(path, LockfileError)
    entries = Entries(path, text, _REGENERATE)
    if not isinstance(data, Mapping):
        raise entries.error("expected a JSON object: not a Pipfile.lock", line=1)
    meta_line = entries.line_of('"_meta"', 1)
    meta = entries.table(data, "_meta", line=meta_line, where="")
    if not meta:
        raise entries.error("missing `_meta`: not a Pipfile.lock", line=1)
    spec = meta.get("pipfile-spec")
    if spec != SUPPORTED_SPEC:
        raise entries.error(
            f"pipfile-spec {spec!r} is not supported (layerplan reads {SUPPORTED_SPEC})",
            line=entries.line_of('"pipfile-spec"', meta_line),
            key="_meta.pipfile-spec",
            hint="regenerate it with a current pipenv: `pipenv lock`",
        )
    sources = _sources(entries, meta, meta_line)
    packages: list[LockedPackage] = []
    seen: dict[tuple[str, str | None, Source], int] = {}
    for section in SECTIONS:
        section_line = entries.line_of(f'"{section}": {{', 1)
        cursor = section_line  # entries come in file order: each is looked for after the last
        for raw_name, entry in entries.table(data, section, line=section_line, where="").items():
            package, cursor = _package(entries, section, raw_name, entry, cursor, sources)
            key = (package.name, package.version, package.source)
            index = seen.get(key)
            if index is not None and _same_pin(packages[index], package):
                packages[index] = replace(packages[index], groups=packages[index].groups + (section,))
                continue
            seen[key] = len(packages)
            packages.append(package)
    # ``pipenv install -e .`` locks the project itself as a path entry.
    root = next((p for p in packages if p.source.is_local and (p.source.path or "").rstrip("/") == "."), None)
    return Lock(
        path=path,
        format="pipfile",
        packages=tuple(packages),
        graph=False,
        root_package=root.name if root is not None else None,
        indexes=tuple(dict.fromkeys(sources.values())),
        default_groups=("default",),
    )


def _sources(entries: Entries, meta: Mapping[str, Any], line: int | None) -> dict[str, str]:
    """Index name -> URL, in the Pipfile's order (the first is the primary index)."""
    raw = meta.get("sources", [])
    if not isinstance(raw, list):
        raise entries.error("`sources` must be a list", line=line, key="_meta.sources")
    sources: dict[str, str] = {}
    for source in raw:
        if not isinstance(source, Mapping):
            raise entries.error("each source must be an object", line=line, key="_meta.sources")
        url = entries.string(source, "url", line=line, where="_meta.sources")
        name = entries.string(source, "name", line=line, where="_meta.sources", required=False)
        assert url is not None
        sources[name or url] = url
    return sources


def _package(
    entries: Entries,
    section: str,
    raw_name: str,
    entry: Any,
    section_line: int | None,
    sources: Mapping[str, str],
) -> tuple[LockedPackage, int | None]:
    """The package, and its line (where the next entry is looked for)."""
    line = entries.line_of(f'"{raw_name}": {{', section_line)
    key = f"{section}.{raw_name}"
    name = entries.name(raw_name, line=line, key=key)
    if not isinstance(entry, Mapping):
        raise entries.error("an entry must be an object", line=line, key=key)
    index_name = entries.string(entry, "index", line=line, where=key, required=False)
    index = None
    if index_name is not None:
        index = sources.get(index_name)
        if index is None:
            raise entries.error(
                f"index {index_name!r} is not among `_meta.sources` ({', '.join(sources) or 'none'})",
                line=entries.line_of('"index"', line),
                key=f"{key}.index",
            )
    source = _source(entries, entry, line, key)
    version = _version(entries, entry, line, key) if source.kind == "registry" else _local_version(entry)
    hashes = entries.hashes(entries.strings(entry, "hashes", line=line, where=key), line=line, key=f"{key}.hashes")
    marker_line = entries.line_of('"markers"', line) if "markers" in entry else line  # absent: no scan to the end
    package = LockedPackage(
        name=name,
        version=version,
        source=source,
        hashes=hashes,
        marker=entries.marker(entry.get("markers"), line=marker_line, key=f"{key}.markers"),
        groups=(section,),
        index=index,
        line=line,
    )
    return package, line


def _version(entries: Entries, entry: Mapping[str, Any], line: int | None, key: str) -> str | None:
    """``"==1.2.3"`` -> ``"1.2.3"``; ``"*"`` or missing (not locked here) -> ``None``."""
    raw = entry.get("version")
    if raw is None or raw == "*":
        return None
    if isinstance(raw, str):
        for operator in ("===", "=="):
            if raw.startswith(operator) and raw[len(operator) :].strip():
                return raw[len(operator) :].strip()
    raise entries.error(
        f"version {raw!r} is not a pin (expected `==X.Y`)",
        line=entries.line_of('"version"', line),
        key=f"{key}.version",
    )


def _local_version(entry: Mapping[str, Any]) -> str | None:
    raw = entry.get("version")
    return raw[2:] if isinstance(raw, str) and raw.startswith("==") else None


def _source(entries: Entries, entry: Mapping[str, Any], line: int | None, key: str) -> Source:
    subdirectory = entries.string(entry, "subdirectory", line=line, where=key, required=False)
    git = entries.string(entry, "git", line=line, where=key, required=False)
    if git is not None:
        reference = entries.string(entry, "ref", line=line, where=key, required=False)
        return Source(kind="git", url=git.removeprefix("git+"), reference=reference, subdirectory=subdirectory)
    for vcs in ("hg", "svn", "bzr"):
        if vcs in entry:
            raise entries.error(
                f"{vcs} requirements are not supported (layerplan reads git, paths, URLs and indexes)",
                line=line,
                key=f"{key}.{vcs}",
                hint="depend on a git repository, a package index or a path instead",
            )
    file = entries.string(entry, "file", line=line, where=key, required=False)
    if file is not None:
        if file.startswith("file:"):
            return Source(kind="path", path=file.removeprefix("file://"))
        return Source(kind="url", url=file, subdirectory=subdirectory)
    path = entries.string(entry, "path", line=line, where=key, required=False)
    if path is not None:
        if entry.get("editable", False) is True:
            return Source(kind="editable", path=path, subdirectory=subdirectory)
        kind: SourceKind = "path" if file_kind(path) is not None else "directory"
        return Source(kind=kind, path=path, subdirectory=subdirectory)
    return _REGISTRY


def _same_pin(first: LockedPackage, second: LockedPackage) -> bool:
    return first.hashes == second.hashes and first.marker == second.marker and first.index == second.index
