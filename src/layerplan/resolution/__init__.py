"""The resolution step: every fact of a build decided once, for every front and back end.

``resolve_build(Request(...))`` reads the project once, merges the options of every
place in one precedence (``options.py``), opens the base image once and decides the
target from it (``target.py``); ``plan_build`` and ``materialize_build`` turn the
result into the plan both back ends consume.
"""

from layerplan.resolution.options import OptionLayer, Settings, command_line_layer
from layerplan.resolution.plan import PlanRequest, materialize_build, plan_build, plan_project
from layerplan.resolution.resolve import resolve_build, resolve_project
from layerplan.resolution.resolved import Request, ResolvedBuild, ResolvedProject
from layerplan.resolution.target import TargetDecision

__all__ = [
    "OptionLayer",
    "PlanRequest",
    "Request",
    "ResolvedBuild",
    "ResolvedProject",
    "Settings",
    "TargetDecision",
    "command_line_layer",
    "materialize_build",
    "plan_build",
    "plan_project",
    "resolve_build",
    "resolve_project",
]
