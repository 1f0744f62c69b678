"""``build_image``: resolve, plan, build the layers, assemble the image, send it to every output.

Like Jib's ``containerize``: the plan is a value, the outputs are where it goes. Every
step writes to temp paths and renames, so an interrupted build leaves neither a
half-written output nor a corrupted cache.
"""

from __future__ import annotations

import dataclasses

from layerplan.containerize.app import AppWheel
from layerplan.containerize.report import BuildReport
from layerplan.resolution.project import resolve_project
from layerplan.resolution.resolved import Request

__all__ = ["build_image"]


def build_image(request: Request, *, quiet: bool = False) -> BuildReport:
    """Build the image ``request`` describes and deliver it; raise ``LayerplanError`` on bad input."""
    request = dataclasses.replace(request, need_base=True, need_outputs=True, allow_missing_wheels=False)
    project = resolve_project(request)
    # The app's wheel starts building in the background before the lock and the base are
    # read: the HTTP, image and install stacks take ~0.1 s to load, time the backend
    # subprocess uses instead of adding to a code-change rebuild.
    with AppWheel(project) as app_wheel:
        from layerplan.containerize.pipeline import run_build
        from layerplan.resolution.resolve import resolve_build

        with resolve_build(request, resolved_project=project) as resolved:
            return run_build(resolved, app_wheel, quiet=quiet)
