"""The planning stages wired end to end: lock -> install set -> plan (pure, given its inputs).

The resolution step (``layerplan.resolution``) decides the inputs -- project, lock,
target, options -- once; this module only runs the packaging stages on them, with file
reads limited to the source-tree digests that key the app and local layers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from layerplan.lockfiles import LockFormat, find_lock, read_lock
from layerplan.lockfiles.model import Lock
from layerplan.plan.config import PlanConfig
from layerplan.plan.model import LayerPlan
from layerplan.plan.planner import make_plan
from layerplan.plan.strategy import LayerStrategy
from layerplan.plugins import plugin_manager
from layerplan.errors import ProjectError
from layerplan.project import Project, tree_digest, workspace_of, workspace_root_of
from layerplan.selection import InstallItem, InstallSet, compute_install_set
from layerplan.target import Target

SizeLookup = Callable[[InstallSet, Sequence[InstallItem]], Mapping[str, int]]
"""(install set, items without a size) -> package name -> size of the wheel it will install."""

__all__ = ["PlanInputs", "SizeLookup", "available_formats", "available_strategies", "load_lock", "plan_install"]


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanInputs:
    """Everything the packaging stages need, decided by the caller."""

    project: Project
    """Where the lock and the workspace are (the project as given)."""
    app: Project
    """The image's own project: ``project``, or the workspace member ``config.package`` names."""
    lock: Lock
    lock_dir: Path
    """Where the lock's relative paths point (the lock's directory, also for an older copy)."""
    target: Target
    config: PlanConfig
    target_from: Mapping[str, str] = field(default_factory=dict)
    allow_missing_wheels: bool = True
    sizes: SizeLookup | None = None
    """Asks the index for wheel sizes the lock lacks; ``None``: plan with what the lock says."""


def available_formats() -> list[LockFormat]:
    """Every lockfile format of every installed plugin."""
    return [fmt for formats in plugin_manager().hook.layerplan_lock_formats() for fmt in formats]


def available_strategies() -> list[LayerStrategy]:
    """Every layer strategy of every installed plugin."""
    return [s for strategies in plugin_manager().hook.layerplan_layer_strategies() for s in strategies]


def load_lock(project: Project, explicit: Path | None) -> Lock:
    """The project's lock: ``explicit`` (an option, already absolute); else, for a member
    of a uv workspace, the workspace's ``uv.lock`` (what ``uv`` installs it from, whatever
    older lock files the member's directory holds); else auto-detected in the project or
    up to the uv workspace root above it."""
    workspace = workspace_of(project)
    if explicit is None and workspace is not None and (workspace.root / "uv.lock").is_file():
        explicit = workspace.root / "uv.lock"
    path, lock_format = find_lock(project.root, available_formats(), explicit, search_up_to=workspace_root_of(project.root))
    return read_lock(path, lock_format)


def plan_install(inputs: PlanInputs) -> LayerPlan:
    """Select the packages and wheels for the target, then split them into layers."""
    config = inputs.config
    install_set = compute_install_set(
        inputs.project,
        inputs.lock,
        inputs.target,
        package=config.package,
        extras=config.extras,
        groups=config.dependency_groups,
    )
    if not inputs.allow_missing_wheels:
        install_set.require_wheels()
    install_set, size_warning = _with_sizes(install_set, inputs.sizes)
    plan = make_plan(
        inputs.app,
        install_set,
        config,
        available_strategies(),
        lock_path=_display_path(inputs.lock.path, inputs.project.root),
        app_digest=tree_digest(inputs.app.root, _app_paths(inputs.app), boundary=_boundary(inputs.app.root, inputs.lock_dir)),
        local_digests=_local_digests(install_set, inputs.lock_dir),
        target_from=inputs.target_from,
    )
    return dataclasses.replace(plan, warnings=(*plan.warnings, size_warning)) if size_warning else plan


def _with_sizes(install_set: InstallSet, sizes: SizeLookup | None) -> tuple[InstallSet, str | None]:
    """Fill in wheel sizes the lock lacks; a warning when some stay unknown."""
    unknown = [i for i in install_set.items if i.size is None and i.choice in ("wheel", "lookup")]
    if not unknown:
        return install_set, None
    found = dict(sizes(install_set, unknown)) if sizes is not None else {}
    items = tuple(
        dataclasses.replace(item, size_hint=found[item.name]) if item.name in found else item
        for item in install_set.items
    )
    still = [i.name for i in unknown if i.name not in found]
    warning = None
    if still:
        how = "the index did not say" if sizes is not None else "the lock records none; --no-index"
        warning = (
            f"wheel size unknown for {len(still)} package(s) ({how}): they are treated as small "
            "and share group layers"
        )
    return dataclasses.replace(install_set, items=items), warning


def _app_paths(app: Project) -> list[Path]:
    return [Path("pyproject.toml"), *app.source_paths] if app.source_paths else [Path(".")]


def _local_digests(install_set: InstallSet, lock_dir: Path) -> dict[str, str]:
    """Content digests of local trees, so the local layer's key follows their contents.

    A source that holds the project itself (``../..``, ``/``) is refused: it would put the
    whole tree around the project (and the project) into the image.
    """
    digests: dict[str, str] = {}
    workspace = lock_dir.resolve()
    for item in install_set.items:
        if item.source.kind in ("directory", "editable", "path") and item.source.path:
            tree = (lock_dir / item.source.path).resolve()
            if tree in workspace.parents or (tree == workspace and not item.workspace_member):
                raise ProjectError(
                    f"{item.name}: its source {item.source.path!r} is {tree}, which holds the project itself",
                    path=lock_dir,
                    hint="point the lock at the package's own directory, or re-lock",
                )
            try:
                if tree.is_dir():
                    digests[item.name] = tree_digest(tree, boundary=_boundary(tree, lock_dir))
                elif tree.is_file():
                    digests[item.name] = tree_digest(tree.parent, [Path(tree.name)])
            except OSError as exc:  # e.g. a name longer than the system allows
                raise ProjectError(
                    f"{item.name}: cannot read its source {item.source.path!r}: {exc.strerror}",
                    path=lock_dir,
                    hint="point the lock at the package's own directory, or re-lock",
                ) from None
    return digests


def _boundary(tree: Path, lock_dir: Path) -> Path:
    """Where a tree's links may point: the workspace (the lock's directory) when the tree
    is in it, else the tree itself."""
    workspace, real = lock_dir.resolve(), tree.resolve()
    return workspace if real == workspace or workspace in real.parents else real


def _display_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
