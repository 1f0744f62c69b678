"""The types of the ``pyproject.toml`` values layerplan reads, checked once at the boundary.

TOML lets any key hold any type (``tool = "x"``, ``build-system = "hatchling"``); the
reader and everything after it may then assume tables are tables and strings strings.
A wrong type is one ``ProjectError`` naming the key and its line, never a traceback.
Written by hand: the few keys layerplan reads do not warrant a schema library, and
``validate-pyproject`` checks far more than layerplan may require (other tools' tables).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from layerplan._toml import line_of
from layerplan.errors import ProjectError

__all__ = ["check_shapes"]

_TABLE, _STRING, _LIST = dict, str, list
_WHAT: dict[type, str] = {dict: "a table", str: "a string", list: "an array"}

# dotted key -> type; parents come before their children, so a child is only looked at
# when its parent has the right type.
_SHAPES: tuple[tuple[str, type], ...] = (
    ("project", _TABLE), ("build-system", _TABLE), ("dependency-groups", _TABLE), ("tool", _TABLE),
    ("project.name", _STRING), ("project.version", _STRING), ("project.requires-python", _STRING),
    ("project.dependencies", _LIST), ("project.optional-dependencies", _TABLE), ("project.scripts", _TABLE),
    ("project.dynamic", _LIST),
    ("build-system.requires", _LIST), ("build-system.build-backend", _STRING), ("build-system.backend-path", _LIST),
    ("tool.uv", _TABLE), ("tool.uv.workspace", _TABLE), ("tool.uv.workspace.members", _LIST),
    ("tool.uv.workspace.exclude", _LIST), ("tool.uv.sources", _TABLE),
    ("tool.poetry", _TABLE), ("tool.poetry.name", _STRING), ("tool.poetry.version", _STRING),
    ("tool.poetry.dependencies", _TABLE), ("tool.poetry.dev-dependencies", _TABLE), ("tool.poetry.group", _TABLE),
    ("tool.poetry.extras", _TABLE), ("tool.poetry.scripts", _TABLE),
    ("tool.pdm", _TABLE), ("tool.pdm.dev-dependencies", _TABLE),
    ("tool.hatch", _TABLE), ("tool.hatch.build", _TABLE), ("tool.hatch.build.targets", _TABLE),
    ("tool.hatch.build.targets.wheel", _TABLE), ("tool.hatch.build.targets.wheel.packages", _LIST),
    ("tool.hatch.build.targets.image", _TABLE),
    ("tool.layerplan", _TABLE),
)  # fmt: skip

# dotted key -> every item must be a string (and, for workspace globs, relative)
_STRING_ITEMS = (
    "project.dependencies", "build-system.requires", "tool.uv.workspace.members", "tool.uv.workspace.exclude",
    "tool.hatch.build.targets.wheel.packages",
)  # fmt: skip
_RELATIVE = ("tool.uv.workspace.members", "tool.uv.workspace.exclude")


def check_shapes(data: Mapping[str, Any], path: Path, text: str) -> None:
    """Raise ``ProjectError`` for the first value of a known key with the wrong type."""
    for key, kind in _SHAPES:
        found, value = _lookup(data, key)
        if found and not isinstance(value, kind):
            _fail(key, f"must be {_WHAT[kind]}, not {_describe(value)}", path, text)
    for key in _STRING_ITEMS:
        found, value = _lookup(data, key)
        if not found or not isinstance(value, list):
            continue
        for item in value:
            if not isinstance(item, str):
                _fail(key, f"must hold strings only, not {_describe(item)}", path, text)
            if key in _RELATIVE and (PurePosixPath(item).is_absolute() or item.startswith("~")):
                _fail(key, f"holds {item!r}, but member globs are relative to the workspace root (e.g. \"packages/*\")", path, text)


def _lookup(data: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    value: Any = data
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _describe(value: Any) -> str:
    kinds = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array", dict: "a table"}
    return next((name for kind, name in kinds.items() if isinstance(value, kind)), type(value).__name__)


def _fail(key: str, problem: str, path: Path, text: str) -> None:
    last = key.rsplit(".", 1)[-1]
    raise ProjectError(
        problem, path=path, line=line_of(text, f"{last} =") or line_of(text, f"[{key}]") or line_of(text, last), key=key
    )
