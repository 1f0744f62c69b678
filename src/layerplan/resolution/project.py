"""The first half of the resolution: the project read once, its options merged once, the
app (a workspace member when one is built), the cache and the epoch.

It needs no lock, no base and no network, and imports none of the HTTP or image code, so
a back end can start work on it at once: the direct build starts the app's wheel here.
"""

from __future__ import annotations

from layerplan.cache.layout import default_cache_dir
from layerplan.project import member_root, read_project
from layerplan.reproducible import source_date_epoch
from layerplan.resolution.options import merge_layers, project_layers
from layerplan.resolution.resolved import Request, ResolvedProject

__all__ = ["resolve_project"]


def resolve_project(request: Request) -> ResolvedProject:
    """The first half of the resolution: the project, its options merged, the app, the
    cache and the epoch -- everything that needs no lock and no base. Cheap (no network,
    no HTTP or image code), so a back end can start work on it early (the direct build
    starts the app's wheel) and pass it on to ``resolve_build``."""
    project = read_project(request.project)
    tables = project_layers(project)
    if request.tool_table is not None:  # the front end's own reading of its table wins over ours
        tables = (request.tool_table, *(layer for layer in tables if layer.origin != request.tool_table.origin))
    settings = merge_layers([layer for layer in (request.options, *tables) if layer is not None])
    app_root = member_root(project, settings.config.package)
    return ResolvedProject(
        project=project,
        app=project if app_root == project.root else read_project(app_root),
        settings=settings,
        cache_dir=request.cache_dir or default_cache_dir(),
        epoch=request.epoch if request.epoch is not None else source_date_epoch(),
        app_wheel=request.app_wheel,
    )
