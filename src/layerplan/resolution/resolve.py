"""The resolution step: read the project once, merge every option once, open the base
once, decide the target once -- and hand the result to whichever back end runs."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

from layerplan.cache.store import BlobCache, default_cache_dir
from layerplan.errors import ConfigError
from layerplan.planning import load_lock
from layerplan.project import member_root, read_project
from layerplan.reproducible import source_date_epoch
from layerplan.resolution.options import merge_layers, project_layers
from layerplan.resolution.resolved import Request, ResolvedBuild, ResolvedProject
from layerplan.resolution.target import decide_target, requested_platform
from layerplan.transports import ImageSink, parse_output

__all__ = ["resolve_build", "resolve_project"]

_OUTPUT_FORMS = "oci:DIR, oci-archive:FILE, docker-archive:FILE, registry:REF or docker:REF"


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


@contextlib.contextmanager
def resolve_build(request: Request, *, resolved_project: ResolvedProject | None = None) -> Iterator[ResolvedBuild]:
    """Decide every fact of the build ``request`` asks for; the base image stays open
    while the block runs. ``resolved_project`` is ``resolve_project(request)`` when the
    caller made it already. Raise ``LayerplanError`` subclasses for bad input, before any
    slow work where it can be known then (no base, no output, a bad option)."""
    first = resolved_project or resolve_project(request)
    project, app, settings = first.project, first.app, first.settings
    config = settings.config
    lock = load_lock(project, Path(config.lock) if config.lock else None)
    outputs = _outputs(request, settings.config.outputs, project.pyproject_path)
    if request.need_base and not config.base:
        raise ConfigError(
            "no base image",
            path=project.pyproject_path,
            key="tool.layerplan.base",
            hint="pass --base REF (e.g. python:3.12-slim) or set base in [tool.layerplan]",
        )
    with contextlib.ExitStack() as stack:
        base = None
        if config.base:
            # Imported only when there is a base: `plan` without one loads no HTTP or image code.
            from layerplan.resolution.base import ClientPool, open_base_image

            base = stack.enter_context(
                open_base_image(
                    config.base,
                    requested_platform(settings),
                    BlobCache(first.cache_dir),
                    ClientPool(config.insecure_registries),
                    key=settings.origin("base") or "base",
                )
            )
        decision = decide_target(settings, app.requires_python, base.platform if base else None, config.base)
        yield ResolvedBuild(
            project=project,
            app=app,
            settings=settings,
            lock=lock,
            target=decision.target,
            target_decision=decision,
            base=base,
            outputs=outputs,
            tags=config.tags or (_default_tag(app.display_name, request.app_version or app.version),),
            cache_dir=first.cache_dir,
            epoch=first.epoch,
            app_wheel=first.app_wheel,
            app_version=request.app_version or app.version,
            index_sizes=request.index_sizes,
            allow_missing_wheels=request.allow_missing_wheels,
        )


def _outputs(request: Request, configured: tuple[str, ...], pyproject: Path) -> tuple[ImageSink, ...]:
    texts = [*request.extra_outputs, *(configured or request.default_outputs)]
    if request.need_outputs and not texts:
        raise ConfigError(
            "no output",
            path=pyproject,
            key="tool.layerplan.outputs",
            hint=f"pass --output {_OUTPUT_FORMS}, or set outputs in [tool.layerplan] or the build tool's image table",
        )
    return tuple(parse_output(text) for text in dict.fromkeys(texts))


def _default_tag(name: str, version: str | None) -> str:
    """``name:version``, made valid as an image name (``name:latest`` without a version)."""
    repository = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._") or "image"
    tag = re.sub(r"[^\w.-]", "-", version)[:128] if version else "latest"
    return f"{repository}:{tag or 'latest'}"
