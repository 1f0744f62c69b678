"""Requirements declared outside ``[project]``: Poetry 1 and pdm's older tables.

Graph locks without a root entry (poetry.lock 2.0, pdm.lock without inherited metadata)
start their walk from the project's requirements, so those must be read even when a
project still declares them in ``[tool.poetry.dependencies]`` or
``[tool.pdm.dev-dependencies]``. Names, extras and markers decide the walk; a version
constraint only matters where the lock holds several versions of one name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidName, canonicalize_name

from layerplan.errors import ProjectError
from layerplan.project.poetry_constraint import poetry_constraint

__all__ = ["pdm_dev_groups", "poetry_dependencies", "poetry_extras", "poetry_groups", "poetry_scripts"]


def _python_marker(constraint: str) -> str | None:
    """Poetry's ``python = "<3.10"`` as a marker on ``python_full_version``."""
    alternatives = poetry_constraint(constraint)
    if alternatives is None:
        return None
    parts = []
    for specifier_set in alternatives:
        clauses = [f'python_full_version {s.operator} "{s.version}"' for s in specifier_set]
        parts.append(" and ".join(clauses) if clauses else "python_full_version >= \"0\"")
    return " or ".join(f"({p})" for p in parts)


def _poetry_requirements(name: str, spec: Any, include_optional: bool, key: str) -> list[Requirement]:
    """``name = "^1.0"`` / ``{version, extras, markers, python, optional}`` / a list of those.

    A list (multiple constraints) becomes one requirement per entry, each with its own
    marker, so the walker can pick the locked version that fits the target. Lenient, as
    Poetry's own reading of these tables: what cannot be read (a marker that does not
    parse, extras that are not names) is left out; only a name that is no package name is
    an error (``ProjectError`` with ``key`` and no path: the reader adds it).
    """
    try:
        canonicalize_name(name, validate=True)
    except InvalidName:
        raise ProjectError(f"invalid package name {name!r}", key=key, hint="name a package on PyPI or an index") from None
    out = []
    for entry in spec if isinstance(spec, list) else [spec]:
        table = entry if isinstance(entry, dict) else {"version": entry}
        if table.get("optional") and not include_optional:
            continue  # only installed through [tool.poetry.extras]
        raw_extras = table.get("extras", ())
        extras = sorted(e for e in raw_extras if isinstance(e, str)) if isinstance(raw_extras, list) else []
        version = table.get("version")
        allowed = poetry_constraint(version) if isinstance(version, str) else None
        markers = [f"({table['markers']})"] if isinstance(table.get("markers"), str) and table["markers"] else []
        if isinstance(table.get("python"), str):
            python = _python_marker(table["python"])
            if python:
                markers.append(f"({python})")
        text = name + (f"[{','.join(extras)}]" if extras else "")
        if allowed is not None and len(allowed) == 1 and str(allowed[0]):
            text += str(allowed[0])
        if markers:
            text += "; " + " and ".join(markers)
        try:
            out.append(Requirement(text))
        except (InvalidRequirement, InvalidMarker):
            out.append(Requirement(name))
    return out


def poetry_dependencies(
    poetry: Mapping[str, Any], *, include_optional: bool = False, key: str = "tool.poetry.dependencies"
) -> tuple[Requirement, ...]:
    """``[tool.poetry.dependencies]`` without ``python`` (and without optional ones).

    Raises ``ProjectError`` (with the key, without a path) for a name that is no package name.
    """
    table = poetry.get("dependencies", {})
    if not isinstance(table, dict):
        return ()
    return tuple(
        requirement
        for name, spec in table.items()
        if name.lower() != "python"
        for requirement in _poetry_requirements(name, spec, include_optional, f"{key}.{name}")
    )


def poetry_extras(poetry: Mapping[str, Any]) -> dict[str, tuple[Requirement, ...]]:
    """``[tool.poetry.extras]``: extra -> the optional dependencies it names."""
    optional = {canonicalize_name(r.name): r for r in poetry_dependencies(poetry, include_optional=True)}
    extras: dict[str, tuple[Requirement, ...]] = {}
    for extra, names in (poetry.get("extras") or {}).items():
        listed = [n for n in names if isinstance(n, str)] if isinstance(names, list) else []  # lenient, as Poetry's own tables
        extras[canonicalize_name(extra)] = tuple(optional[canonicalize_name(n)] for n in listed if canonicalize_name(n) in optional)
    return extras


def poetry_groups(poetry: Mapping[str, Any]) -> dict[str, tuple[Requirement, ...]]:
    """``[tool.poetry.group.NAME.dependencies]`` (and the old ``dev-dependencies``)."""
    groups: dict[str, tuple[Requirement, ...]] = {}
    for name, table in (poetry.get("group") or {}).items():
        if isinstance(table, dict):
            groups[canonicalize_name(name)] = poetry_dependencies(table, key=f"tool.poetry.group.{name}.dependencies")
    if isinstance(poetry.get("dev-dependencies"), dict):
        groups.setdefault(
            "dev", poetry_dependencies({"dependencies": poetry["dev-dependencies"]}, key="tool.poetry.dev-dependencies")
        )
    return groups


def pdm_dev_groups(pdm: Mapping[str, Any]) -> dict[str, tuple[Requirement, ...]]:
    """``[tool.pdm.dev-dependencies]``: group -> PEP 508 strings (unparseable ones skipped)."""
    groups: dict[str, tuple[Requirement, ...]] = {}
    for name, entries in (pdm.get("dev-dependencies") or {}).items():
        parsed = []
        for entry in entries if isinstance(entries, list) else []:
            try:
                parsed.append(Requirement(entry))
            except (InvalidRequirement, TypeError):
                continue  # "-e file:///..." editable entries: not needed for the walk
        groups[canonicalize_name(name)] = tuple(parsed)
    return groups


def poetry_scripts(poetry: Mapping[str, Any]) -> dict[str, str]:
    """``[tool.poetry.scripts]``: console scripts as ``[project.scripts]`` spells them.

    An entry is ``"module:function"`` or, in Poetry 2, a table with ``callable`` (``type =
    "console"``); file scripts (``type = "file"``) are not console entry points and are left out.
    """
    scripts = poetry.get("scripts", {})
    if not isinstance(scripts, dict):
        return {}
    out: dict[str, str] = {}
    for name, value in scripts.items():
        if isinstance(value, str):
            out[str(name)] = value
        elif isinstance(value, dict) and value.get("type", "console") == "console":
            target = value.get("callable") or value.get("reference")
            if isinstance(target, str):
                out[str(name)] = target
    return out
