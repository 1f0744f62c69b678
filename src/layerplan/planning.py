"""The planning pipeline, wired end to end: project -> lock -> target -> install set -> plan.

Front ends (CLI, hatch plugin, setuptools command) call ``plan_project``; each stage
below stays a pure function of the one before, with file reads only here at the edge.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from layerplan.lockfiles import LockFormat, find_lock, read_lock
from layerplan.lockfiles.model import Lock
from layerplan.plan.config import PlanConfig, read_config
from layerplan.plan.model import LayerPlan
from layerplan.plan.planner import make_plan
from layerplan.plan.strategy import LayerStrategy
from layerplan.plugins import plugin_manager
from layerplan.project import Project, member_root, read_project, tree_digest
from layerplan.selection import InstallItem, InstallSet, compute_install_set
from layerplan.target import Target, make_target

SizeLookup = Callable[[InstallSet, Sequence[InstallItem]], Mapping[str, int]]
"""(install set, items without a size) -> package name -> size of the wheel it will install."""

__all__ = ["PlanRequest", "SizeLookup", "available_formats", "available_strategies", "load_lock", "plan_project", "project_config"]


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanRequest:
    """What the user asked for; ``None`` means "from [tool.layerplan], else the default"."""

    project: Path
    lock: Path | None = None
    python: str | None = None
    platform: str | None = None
    libc: str | None = None
    package: str | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    allow_missing_wheels: bool = True
    """False for a direct build: a package without a wheel for the target is an error."""
    target: Target | None = None
    """A fully known target (e.g. read from the base image); options still override it."""
    overrides: dict[str, object] = field(default_factory=dict)
    """Other ``PlanConfig`` fields to override (from the CLI or a build front end)."""
    index_sizes: bool = True
    """Ask the package index for wheel sizes the lock lacks (poetry, pdm, Pipfile,
    requirements locks), so large wheels still get their own layer. Sizes are cached by
    file hash, so only the first plan of a lock asks. False: plan with what the lock says."""
    cache_dir: Path | None = None
    """layerplan's cache (default ``~/.cache/layerplan``)."""


def available_formats() -> list[LockFormat]:
    """Every lockfile format of every installed plugin."""
    return [fmt for formats in plugin_manager().hook.layerplan_lock_formats() for fmt in formats]


def available_strategies() -> list[LayerStrategy]:
    """Every layer strategy of every installed plugin."""
    return [s for strategies in plugin_manager().hook.layerplan_layer_strategies() for s in strategies]


def project_config(project: Project) -> PlanConfig:
    """The validated ``[tool.layerplan]`` of ``project``."""
    return read_config(project.config, project.pyproject_path, project.pyproject_text)


def plan_project(
    request: PlanRequest, *, lock_override: Lock | None = None, lock_dir: Path | None = None
) -> LayerPlan:
    """Run the whole planning pipeline for ``request``; raises ``LayerplanError`` subclasses.

    ``lock_override`` replaces the project's lock (e.g. an older revision of it), and
    ``lock_dir`` is where its relative paths point (default: the lock file's directory).
    """
    project = read_project(request.project)
    config = project_config(project).with_overrides(
        python=request.python,
        platform=request.platform,
        libc=request.libc,
        package=request.package,
        extras=request.extras or None,
        dependency_groups=request.groups or None,
        **request.overrides,
    )
    lock = lock_override or load_lock(project, config, request.lock)
    target = _target(project, config, request)
    install_set = compute_install_set(
        project, lock, target, package=config.package, extras=config.extras, groups=config.dependency_groups
    )
    if not request.allow_missing_wheels:
        install_set.require_wheels()
    install_set, size_warning = _with_sizes(install_set, _size_lookup(request))
    app_root = member_root(project, config.package)
    plan = make_plan(
        project,
        install_set,
        config,
        available_strategies(),
        lock_path=_display_path(lock.path, project.root),
        app_digest=tree_digest(app_root, _app_paths(project, app_root)),
        local_digests=_local_digests(install_set, lock_dir or lock.path.parent),
    )
    return dataclasses.replace(plan, warnings=(*plan.warnings, size_warning)) if size_warning else plan


def _size_lookup(request: PlanRequest) -> SizeLookup | None:
    if not request.index_sizes:
        return None

    def lookup(install_set: InstallSet, items: Sequence[InstallItem]) -> Mapping[str, int]:
        # Imported only when a lock lacks sizes: `plan` of a uv.lock never pays for HTTP.
        from layerplan.cache.store import default_cache_dir
        from layerplan.fetch.sizes import IndexSizes

        return IndexSizes(request.cache_dir or default_cache_dir()).lookup(install_set, items)

    return lookup


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


def load_lock(project: Project, config: PlanConfig, explicit: Path | None) -> Lock:
    """Find and read the project's lock (``--lock`` > ``tool.layerplan.lock`` > auto-detect)."""
    lock_path = explicit or (project.root / config.lock if config.lock else None)
    workspace_root = _workspace_root(project.root)
    path, lock_format = find_lock(project.root, available_formats(), lock_path, search_up_to=workspace_root)
    return read_lock(path, lock_format)


def _target(project: Project, config: PlanConfig, request: PlanRequest) -> Target:
    """Options win over what the base image says; the base's interpreter path is kept
    when the Python version stays the same."""
    base = request.target
    if base is None:
        return make_target(
            python=config.python, platform=config.platform, libc=config.libc, requires_python=project.requires_python
        )
    chosen = make_target(
        python=config.python or base.python_full_version or base.python_version_text,
        platform=config.platform or base.platform,
        libc=config.libc or str(base.libc),
    )
    if chosen.python_version != base.python_version:
        return chosen
    return dataclasses.replace(
        chosen,
        python_path=base.python_path,
        python_full_version=chosen.python_full_version or base.python_full_version,
    )


def _workspace_root(start: Path) -> Path | None:
    """The nearest parent whose pyproject declares a uv workspace (its lock covers members)."""
    for parent in start.parents:
        pyproject = parent / "pyproject.toml"
        if pyproject.is_file() and "[tool.uv.workspace]" in pyproject.read_text(encoding="utf-8", errors="replace"):
            return parent
    return None


def _app_paths(project: Project, app_root: Path) -> list[Path]:
    if app_root != project.root:
        return [Path(".")]
    return [Path("pyproject.toml"), *project.source_paths] if project.source_paths else [Path(".")]


def _local_digests(install_set: InstallSet, lock_dir: Path) -> dict[str, str]:
    """Content digests of local trees, so the local layer's key follows their contents."""
    digests: dict[str, str] = {}
    for item in install_set.items:
        if item.source.kind in ("directory", "editable", "path") and item.source.path:
            tree = (lock_dir / item.source.path).resolve()
            if tree.is_dir():
                digests[item.name] = tree_digest(tree)
            elif tree.is_file():
                digests[item.name] = tree_digest(tree.parent, [Path(tree.name)])
    return digests


def _display_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
