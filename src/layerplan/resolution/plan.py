"""Plan and materialize a resolved build (what ``plan``, ``build`` and ``dockerfile`` share).

``PlanRequest``/``plan_project`` are the short way for callers that only want a plan of a
project with a few options (tests, benchmarks, scripts): the same resolution runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from layerplan.planning import PlanInputs, SizeLookup, plan_install
from layerplan.resolution.options import command_line_layer
from layerplan.resolution.resolve import resolve_build
from layerplan.resolution.resolved import Request, ResolvedBuild

if TYPE_CHECKING:
    from layerplan.lockfiles.model import Lock
    from layerplan.materialize import MaterializedPlan
    from layerplan.plan.model import LayerPlan
    from layerplan.selection import InstallItem, InstallSet

__all__ = ["PlanRequest", "materialize_build", "plan_build", "plan_platforms", "plan_project"]


def plan_build(resolved: ResolvedBuild, *, lock: Lock | None = None) -> LayerPlan:
    """The layer plan of ``resolved`` (with ``lock`` instead of its own: an older revision,
    whose relative paths still point where the current lock's do)."""
    decision = resolved.target_decision
    return plan_install(
        PlanInputs(
            project=resolved.project,
            app=resolved.app,
            lock=lock or resolved.lock,
            lock_dir=resolved.lock_dir,
            target=resolved.target,
            config=resolved.config,
            target_from={"python": decision.python_from, "platform": decision.platform_from, "libc": decision.libc_from},
            allow_missing_wheels=resolved.allow_missing_wheels,
            sizes=_index_sizes(resolved.cache_dir) if resolved.index_sizes else None,
        )
    )


def plan_platforms(resolved: ResolvedBuild) -> tuple[tuple[ResolvedBuild, LayerPlan], ...]:
    """Each platform of ``resolved`` (narrowed to it) with its plan, in order: each
    platform's wheels come from the lock for that platform's target."""
    return tuple((one, plan_build(one)) for one in resolved.each_platform())


def materialize_build(resolved: ResolvedBuild, plan: LayerPlan) -> MaterializedPlan:
    """What fills each layer of ``plan``: wheels with their indexes, local sources, the app."""
    from layerplan.materialize import materialize  # the fetch stack: back ends only, not `plan`

    return materialize(plan, lock_dir=resolved.lock_dir, app_root=resolved.app_root)


def _index_sizes(cache_dir: Path) -> SizeLookup:
    def lookup(install_set: InstallSet, items: Sequence[InstallItem]) -> Mapping[str, int]:
        # Imported only when a lock lacks sizes: `plan` of a uv.lock never pays for HTTP.
        from layerplan.fetch.sizes import IndexSizes

        return IndexSizes(cache_dir).lookup(install_set, items)

    return lookup


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanRequest:
    """A plan of ``project`` with options as a command line would give them."""

    project: Path
    lock: Path | None = None
    python: str | None = None
    platform: str | None = None
    libc: str | None = None
    package: str | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    base: str | None = None
    allow_missing_wheels: bool = True
    index_sizes: bool = True
    cache_dir: Path | None = None


def plan_project(request: PlanRequest) -> LayerPlan:
    """Resolve ``request`` and plan it."""
    options = command_line_layer(
        {
            "lock": ("--lock", str(request.lock) if request.lock else None),
            "python": ("--python", request.python),
            "platform": ("--platform", request.platform),
            "libc": ("--libc", request.libc),
            "package": ("--package", request.package),
            "extras": ("--extra", request.extras),
            "dependency_groups": ("--group", request.groups),
            "base": ("--base", request.base),
        }
    )
    with resolve_build(
        Request(
            project=request.project,
            options=options,
            cache_dir=request.cache_dir,
            allow_missing_wheels=request.allow_missing_wheels,
            index_sizes=request.index_sizes,
        )
    ) as resolved:
        return plan_build(resolved)
