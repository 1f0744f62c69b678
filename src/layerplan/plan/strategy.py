"""The default layer strategy: stable things first, each change touching one small layer.

Order: environment skeleton -> named layer groups -> large wheels, one each -> the rest
of the third-party packages in ``group-layers`` groups -> local packages -> the app ->
config. Small packages go to a group chosen by a hash of their *name*, never their
version or position, so a version bump changes exactly one group and adding a package
never moves the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from layerplan.errors import ConfigError
from layerplan.hookspecs import hookimpl
from layerplan.plan.config import PlanConfig
from layerplan.plan.model import PlannedLayer, layer_key, package_identity, total_size
from layerplan.selection.model import InstallItem, InstallSet

__all__ = ["LayerStrategy", "StrategyInput", "StrategyOutput", "default_strategy", "group_of"]


@dataclass(frozen=True, kw_only=True, slots=True)
class StrategyInput:
    """Everything a strategy may use; planning is pure, so digests come precomputed."""

    install_set: InstallSet
    config: PlanConfig
    project_name: str
    project_version: str | None
    app_digest: str
    """Content digest of the project's own sources and pyproject.toml."""
    local_digests: Mapping[str, str] = field(default_factory=dict)
    """Package name -> content digest of a local (path/directory) package's tree."""
    config_settings: Mapping[str, object] = field(default_factory=dict)
    """The image config the plan fixes (entrypoint, env, user...): keys the config layer."""
    python_from: str = "default"
    """Where the target's Python came from (``base image X``, ``--python``, ``default``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StrategyOutput:
    """Layers in image order, and anything the user should know about them."""

    layers: tuple[PlannedLayer, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerStrategy:
    """A named way to split an install set into layers (a plugin can add more)."""

    name: str
    plan: Callable[[StrategyInput], StrategyOutput]
    description: str = ""


def group_of(name: str, groups: int) -> int:
    """The 0-based group of a package name: stable across versions and across other packages."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % groups


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def default_strategy(data: StrategyInput) -> StrategyOutput:
    """Split ``data.install_set`` as the module docstring says."""
    cfg = data.config
    target = data.install_set.target
    # What every installed file's path and bytecode depend on.
    placement = {"python": target.python_version_text, "venv": cfg.venv, "bytecode": cfg.compile_bytecode}
    warnings: list[str] = []
    layers: list[PlannedLayer] = [
        PlannedLayer(
            name="environment",
            kind="environment",
            key=layer_key("environment", {**placement, "interpreter": target.python_path, "home": cfg.home, "user": cfg.user}),
            reason=f"venv at {cfg.venv} on Python {target.python_version_text} ({data.python_from}), and HOME "
            f"{cfg.home} owned by {cfg.user}; changes only with the Python version, venv path, HOME or user",
        )
    ]
    registry = [item for item in data.install_set.items if not item.is_local]
    local = [item for item in data.install_set.items if item.is_local]

    claimed: set[str] = set()
    for group_name, names in cfg.layer_groups.items():
        members = [item for item in registry if item.name in names and item.name not in claimed]
        absent = sorted(set(names) - {item.name for item in data.install_set.items})
        if absent:
            warnings.append(
                f"layer group {group_name!r} names {', '.join(absent)}, which {target.describe()} does not install"
            )
        if not members:
            continue
        claimed.update(item.name for item in members)
        layers.append(_dependency_layer(group_name, members, placement, f"layer group {group_name!r} from [tool.layerplan.layer-groups]"))

    rest = [item for item in registry if item.name not in claimed]
    large = sorted(
        (item for item in rest if item.size is not None and item.size >= cfg.large_wheel_size),
        key=lambda item: item.name,
    )
    available = cfg.max_layers - (len(layers) + (1 if local else 0) + 1)  # what is left after local + app
    if rest and available < 1:
        raise ConfigError(
            f"max-layers {cfg.max_layers} is too small for this plan (needs at least {cfg.max_layers - available + 1})",
            key="tool.layerplan.max-layers",
            hint="raise max-layers or merge layer-groups",
        )
    small_exists = len(rest) > len(large)
    if len(large) + (1 if small_exists else 0) > available:
        # Too many large wheels for the budget: the smallest of them share the group layers.
        by_size = sorted(large, key=lambda item: (item.size or 0, item.name))
        demoted = by_size[: len(large) - (available - 1)]
        large = [item for item in large if item not in demoted]
        warnings.append(
            f"max-layers {cfg.max_layers} leaves no room for {len(demoted)} large wheel(s) "
            f"({', '.join(item.name for item in demoted)}); they share the group layers"
        )
    for item in large:
        layers.append(
            _dependency_layer(
                f"dep-{item.name}",
                [item],
                placement,
                f"{_mib(item.size or 0)} wheel >= large-wheel-size {_mib(cfg.large_wheel_size)}: "
                "alone, so other bumps never re-upload it",
            )
        )
    groups = max(1, min(cfg.group_layers, available - len(large)))
    small = [item for item in rest if item not in large]
    buckets: dict[int, list[InstallItem]] = {}
    for item in small:
        buckets.setdefault(group_of(item.name, groups), []).append(item)
    for index in sorted(buckets):
        members = buckets[index]
        layers.append(
            _dependency_layer(
                f"deps-{index + 1}-of-{groups}",
                members,
                placement,
                f"small packages, grouped by a hash of their names ({index + 1} of {groups}): "
                "a bump changes only this layer",
            )
        )

    if local:
        identities = [
            {**package_identity(item), "tree": data.local_digests.get(item.name)} for item in local
        ]
        kinds = sorted({"workspace member" if item.workspace_member else item.source.kind for item in local})
        layers.append(
            PlannedLayer(
                name="local",
                kind="local",
                key=layer_key("local", {**placement, "packages": identities}),
                reason=f"local packages ({', '.join(kinds)}): they change more often than "
                "registry ones, so they sit above them",
                packages=tuple(local),
                estimated_size=None,
            )
        )
    if not data.install_set.project_is_virtual:
        version_text = f" {data.project_version}" if data.project_version else ""
        layers.append(
            PlannedLayer(
                name="app",
                kind="app",
                key=layer_key(
                    "app",
                    {**placement, "project": data.project_name, "version": data.project_version, "sources": data.app_digest},
                ),
                reason=f"{data.project_name}{version_text} from its own wheel: a code change rebuilds only this layer",
            )
        )
    layers.append(
        PlannedLayer(
            name="config",
            kind="config",
            key=layer_key("config", {"settings": dict(data.config_settings)}),
            reason="entrypoint, env, user, workdir, labels: image config, no files",
        )
    )
    return StrategyOutput(layers=tuple(layers), warnings=tuple(warnings))


def _dependency_layer(name: str, members: Sequence[InstallItem], placement: Mapping[str, object], reason: str) -> PlannedLayer:
    ordered = tuple(sorted(members, key=lambda item: item.name))
    return PlannedLayer(
        name=name,
        kind="dependencies",
        key=layer_key("dependencies", {**placement, "packages": [package_identity(item) for item in ordered]}),
        reason=reason,
        packages=ordered,
        estimated_size=total_size(ordered),
    )


DEFAULT = LayerStrategy(
    name="default",
    plan=default_strategy,
    description="environment, named groups, large wheels alone, hashed groups, local, app, config",
)


@hookimpl
def layerplan_layer_strategies() -> list[LayerStrategy]:
    """The built-in strategy."""
    return [DEFAULT]
