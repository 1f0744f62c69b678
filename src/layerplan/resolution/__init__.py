"""The resolution step: every fact of a build decided once, for every front and back end.

``resolve_build(Request(...))`` reads the project once, merges the options of every
place in one precedence (``options.py``), opens the base image once and decides the
target from it (``target.py``); ``plan_build`` and ``materialize_build`` turn the
result into the plan both back ends consume.

The names are loaded on first use (PEP 562): every command imports this package, and
the HTTP, image and fetch stacks behind ``resolve_build``/``plan_build`` cost ~0.1 s to
import, which a code-change rebuild spends building the app's wheel instead.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from layerplan.resolution.options import OptionLayer, Settings, command_line_layer
    from layerplan.resolution.plan import PlanRequest, materialize_build, plan_build, plan_platforms, plan_project
    from layerplan.resolution.project import resolve_project
    from layerplan.resolution.resolve import resolve_build
    from layerplan.resolution.resolved import PlatformBuild, Request, ResolvedBuild, ResolvedProject
    from layerplan.resolution.target import TargetDecision

_MODULES = {
    "OptionLayer": "options",
    "Settings": "options",
    "command_line_layer": "options",
    "PlanRequest": "plan",
    "materialize_build": "plan",
    "plan_build": "plan",
    "plan_platforms": "plan",
    "plan_project": "plan",
    "resolve_project": "project",
    "resolve_build": "resolve",
    "PlatformBuild": "resolved",
    "Request": "resolved",
    "ResolvedBuild": "resolved",
    "ResolvedProject": "resolved",
    "TargetDecision": "target",
}

__all__ = [
    "OptionLayer",
    "PlanRequest",
    "PlatformBuild",
    "Request",
    "ResolvedBuild",
    "ResolvedProject",
    "Settings",
    "TargetDecision",
    "command_line_layer",
    "materialize_build",
    "plan_build",
    "plan_platforms",
    "plan_project",
    "resolve_build",
    "resolve_project",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
