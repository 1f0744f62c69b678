"""The first half of the resolution: the project read once, its options merged once, the
app (a workspace member when one is built), the cache and the epoch.

It needs no lock, no base and no network, and imports none of the HTTP or image code, so
a back end can start work on it at once: the direct build starts the app's wheel here.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from layerplan.cache.layout import default_cache_dir
from layerplan.errors import ConfigError, ProjectError
from layerplan.project import Project, member_root, read_project, workspace_of
from layerplan.project.git import GitSource, read_git
from layerplan.reproducible import DEFAULT_EPOCH, parse_created, source_date_epoch
from layerplan.resolution.options import OptionLayer, Settings, merge_layers, project_layers
from layerplan.resolution.resolved import Created, Request, ResolvedProject

__all__ = ["buildable_members", "resolve_project"]


def resolve_project(request: Request) -> ResolvedProject:
    """The first half of the resolution: the project, its options merged, the app, the
    cache and the epoch -- everything that needs no lock and no base. Cheap (no network,
    no HTTP or image code), so a back end can start work on it early (the direct build
    starts the app's wheel) and pass it on to ``resolve_build``.

    In a uv workspace the image's project is a member: ``--package M`` from the root, or
    the member's own directory. Either way the options are the same, merged key by key,
    highest first: the command line, the member's tables, the tables of the directory
    given, the workspace root's tables. Raise ``ProjectError`` for a workspace root that
    has nothing of its own to build when no member is named.
    """
    project = read_project(request.project)
    given = list(project_layers(project))
    if request.tool_table is not None:  # the front end's own reading of its table wins over ours
        given = [request.tool_table, *(layer for layer in given if layer.origin != request.tool_table.origin)]
    outer = _workspace_layers(project)
    command_line = [request.options] if request.options is not None else []
    package = merge_layers([*command_line, *given, *outer]).config.package
    if not package:
        _require_something_to_build(project)
        app = project
        settings = merge_layers([*command_line, *given, *outer])
    else:
        app = read_project(member_root(project, package))
        shown = app.pyproject_path.relative_to(project.root).as_posix()
        member = [_without_package(layer) for layer in project_layers(app, shown_as=shown)]
        settings = merge_layers([*command_line, *member, *given, *outer])
    git = read_git(app.root)
    return ResolvedProject(
        project=project,
        app=app,
        settings=settings,
        cache_dir=(request.cache_dir or default_cache_dir()).absolute(),  # backends run in other directories
        epoch=request.epoch if request.epoch is not None else source_date_epoch(),
        created=decide_created(settings, git, request.epoch),
        git=git,
        app_wheel=request.app_wheel,
    )


def decide_created(settings: Settings, git: GitSource | None, epoch: int | None = None) -> Created:
    """The image's ``created``: the ``created`` option, else ``SOURCE_DATE_EPOCH`` (the
    front end's ``epoch``, else the environment's: a build that sets it explicitly asks
    for that time, as reproducible-builds.org defines it), else the commit time of git's
    HEAD (the same on every clone), else 1980-01-01."""
    option = settings.config.created
    if option is not None:
        origin = settings.origin("created") or "created"
        try:
            return Created(epoch=parse_created(option), source=origin)
        except ValueError as exc:  # checked when read: only a clock before 1970 gets here
            raise ConfigError(str(exc), key=origin) from None
    if epoch is not None:
        return Created(epoch=epoch, source="SOURCE_DATE_EPOCH")
    if os.environ.get("SOURCE_DATE_EPOCH", "").strip():
        return Created(epoch=source_date_epoch(), source="SOURCE_DATE_EPOCH")
    if git is not None:
        return Created(epoch=git.commit_time, source="git")
    return Created(epoch=DEFAULT_EPOCH, source="default")


def _workspace_layers(project: Project) -> list[OptionLayer]:
    """The tables of the uv workspace root above ``project``, when it is one of its members
    (so a member's directory resolves as ``--package`` from the root does)."""
    workspace = workspace_of(project)
    if workspace is None:
        return []
    shown = f"{workspace.root.name}/pyproject.toml (the workspace root)"
    return [_without_package(layer) for layer in project_layers(workspace, shown_as=shown)]


def _without_package(layer: OptionLayer) -> OptionLayer:
    """A member's (or the workspace root's, seen from a member) tables cannot choose the member."""
    if "package" not in layer.values:
        return layer
    return dataclasses.replace(
        layer,
        values={k: v for k, v in layer.values.items() if k != "package"},
        keys={k: v for k, v in layer.keys.items() if k != "package"},
    )


def _require_something_to_build(project: Project) -> None:
    """A workspace root without a project of its own (or one that installs nothing and
    builds nothing) would give an image with an empty environment: ask for a member."""
    nothing_here = project.virtual_root or (project.build_backend is None and not project.dependencies)
    if project.workspace_members and nothing_here:
        names = ", ".join(sorted(m.name for m in project.workspace_members))
        raise ProjectError(
            "this uv workspace root has no project of its own to build",
            path=project.pyproject_path,
            hint=f"pass --package MEMBER (or set tool.layerplan.package): one of {names}",
        )


def buildable_members(project_dir: Path) -> list[str]:
    """The workspace members ``--all-packages`` builds: those with an entrypoint (a console
    script) or a ``[tool.layerplan]`` of their own, in the workspace's order. Raise
    ``ProjectError`` when the project is not a workspace root, or none qualifies."""
    project = read_project(project_dir)
    if not project.workspace_members:
        raise ProjectError(
            "--all-packages: this project is not a uv workspace root (no tool.uv.workspace members)",
            path=project.pyproject_path,
            hint="run it in the workspace's root directory, or name members with --package",
        )
    chosen = []
    for member in project.workspace_members:
        app = read_project(project.root / member.path)
        if app.scripts or app.config:
            chosen.append(str(member.name))
    if not chosen:
        names = ", ".join(m.name for m in project.workspace_members)
        raise ProjectError(
            "--all-packages: no member has an entrypoint or a [tool.layerplan] of its own",
            path=project.pyproject_path,
            hint=f"name them with --package ({names})",
        )
    return chosen
