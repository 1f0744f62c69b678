"""``build_image``: plan, build the layers, assemble the image, send it to every output.

Like Jib's ``containerize``: the plan is a value, the outputs are where it goes. Every
step writes to temp paths and renames, so an interrupted build leaves neither a
half-written output nor a corrupted cache.
"""

from __future__ import annotations

from layerplan.containerize.app import AppWheel
from layerplan.containerize.report import BuildReport
from layerplan.containerize.request import BuildRequest
from layerplan.cache.store import default_cache_dir
from layerplan.errors import ConfigError
from layerplan.image.tarlayer import source_date_epoch
from layerplan.planning import project_config
from layerplan.project import read_project
from layerplan.target import parse_platform
from layerplan.transports import OUTPUT_USAGE, parse_output

__all__ = ["build_image"]


def build_image(request: BuildRequest) -> BuildReport:
    """Build the image ``request`` describes and deliver it; raise ``LayerplanError`` on bad input."""
    project = read_project(request.plan.project)
    config = project_config(project).with_overrides(**request.plan.overrides)
    base_spec = request.base or config.base
    if not base_spec:
        raise ConfigError(
            "no base image",
            path=project.pyproject_path,
            key="tool.layerplan.base",
            hint="pass --base REF (e.g. python:3.12-slim) or set base in [tool.layerplan]",
        )
    outputs = [parse_output(text) for text in (request.outputs or config.outputs)]
    if not outputs:
        raise ConfigError(
            "no output",
            path=project.pyproject_path,
            key="tool.layerplan.outputs",
            hint=f"pass --output {OUTPUT_USAGE}",
        )
    epoch = request.epoch if request.epoch is not None else source_date_epoch()
    cache_root = request.cache_dir or default_cache_dir()
    platform = parse_platform(request.plan.platform or config.platform or "linux/amd64")
    app_wheel = AppWheel(
        project,
        request.plan.package or config.package,
        epoch=epoch,
        env_cache=cache_root / "build-envs",
        prebuilt=request.app_wheel,
    )
    with app_wheel:
        # Imported after the app wheel has started building in the background: these
        # modules (HTTP, image, install stacks) take ~0.1 s to load, time the backend
        # subprocess uses instead of adding to a code-change rebuild.
        from layerplan.containerize.pipeline import BuildInputs, run_build

        return run_build(
            BuildInputs(
                request=request,
                project=project,
                config=config,
                base_spec=base_spec,
                outputs=tuple(outputs),
                epoch=epoch,
                cache_root=cache_root,
                platform=platform,
                app_wheel=app_wheel,
            )
        )
