"""Turn an install set into a ``LayerPlan`` with the configured strategy (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from layerplan.errors import ConfigError
from layerplan.plan.config import PlanConfig
from layerplan.plan.model import LayerPlan
from layerplan.plan.strategy import LayerStrategy, StrategyInput
from layerplan.project.model import Project
from layerplan.selection.model import InstallSet

__all__ = ["image_settings", "make_plan"]


def image_settings(project: Project, config: PlanConfig) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The image config the plan fixes, and warnings about it.

    The entrypoint is the configured one, else the script named like the project, else
    the only script; a script name becomes ``<venv>/bin/<name>``. Console scripts
    (``[project.scripts]``) come before a setuptools project's ``scripts=`` files.
    """
    warnings: list[str] = []
    entrypoint: list[str] = []
    known = {**dict.fromkeys(project.file_scripts, ""), **project.scripts}
    if config.entrypoint:
        first, *rest = config.entrypoint
        if first in known:
            first = f"{config.venv}/bin/{first}"
        elif len(config.entrypoint) == 1 and not first.startswith("/") and known:
            raise ConfigError(
                f"entrypoint {first!r} is not one of the project's scripts",
                key="tool.layerplan.entrypoint",
                hint=f"use one of {', '.join(sorted(known))}, or an absolute command list",
            )
        entrypoint = [first, *rest]
    elif chosen := _script_named_like(project, project.scripts) or _only(project.scripts):
        entrypoint = [f"{config.venv}/bin/{chosen}"]
    elif len(project.scripts) > 1:
        warnings.append(
            f"several console scripts ({', '.join(sorted(project.scripts))}) and no tool.layerplan.entrypoint: "
            "the image gets no entrypoint"
        )
    elif chosen := _script_named_like(project, project.file_scripts) or _only(project.file_scripts):
        entrypoint = [f"{config.venv}/bin/{chosen}"]
    elif project.file_scripts:
        warnings.append(
            f"several scripts ({', '.join(sorted(project.file_scripts))}) and no tool.layerplan.entrypoint: "
            "the image gets no entrypoint"
        )
    env = {
        "PATH": f"{config.venv}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "VIRTUAL_ENV": config.venv,
        "PYTHONUNBUFFERED": "1",
        "HOME": config.home,
        **config.env,
    }
    settings = {
        "entrypoint": entrypoint,
        "env": env,
        "user": config.user,
        "home": config.home,
        "workdir": config.workdir,
        "labels": dict(config.labels),
    }
    return settings, tuple(warnings)


def _script_named_like(project: Project, scripts: Collection[str]) -> str | None:
    return next((name for name in (project.display_name, project.name) if name in scripts), None)


def _only(scripts: Collection[str]) -> str | None:
    return next(iter(scripts)) if len(scripts) == 1 else None


def make_plan(
    project: Project,
    install_set: InstallSet,
    config: PlanConfig,
    strategies: Sequence[LayerStrategy],
    *,
    lock_path: str,
    app_digest: str,
    local_digests: Mapping[str, str] | None = None,
    target_from: Mapping[str, str] | None = None,
) -> LayerPlan:
    """Plan the layers of ``project`` (the image's project: a workspace member when one
    is built) for ``install_set.target`` with ``config.strategy``."""
    by_name = {strategy.name: strategy for strategy in strategies}
    strategy = by_name.get(config.strategy)
    if strategy is None:
        raise ConfigError(
            f"unknown strategy {config.strategy!r}",
            key="tool.layerplan.strategy",
            hint=f"installed strategies: {', '.join(sorted(by_name))}",
        )
    settings, setting_warnings = image_settings(project, config)
    version = project.version
    sources = dict(target_from or {})
    output = strategy.plan(
        StrategyInput(
            install_set=install_set,
            config=config,
            project_name=project.display_name,
            project_version=version,
            app_digest=app_digest,
            local_digests=dict(local_digests or {}),
            config_settings=settings,
            python_from=sources.get("python", "default"),
        )
    )
    return LayerPlan(
        project_name=project.display_name,
        project_version=version,
        target=install_set.target,
        install_set=install_set,
        layers=output.layers,
        lock_path=lock_path,
        venv=config.venv,
        warnings=(*setting_warnings, *output.warnings, *_missing_wheel_warnings(install_set)),
        settings=settings,
        target_from=sources,
    )


def _missing_wheel_warnings(install_set: InstallSet) -> tuple[str, ...]:
    """One warning per package planned without a wheel (only with ``--allow-missing-wheels``):
    the text and the JSON plan both say it, from here."""
    return tuple(
        f"{item.name} {item.version or ''}: no wheel for the target ({item.note})".replace("  ", " ")
        for item in install_set.without_wheel
    )
