"""``build_image``: resolve, plan, build the layers, assemble the image, send it to every output.

Like Jib's ``containerize``: the plan is a value, the outputs are where it goes. Every
step writes to temp paths and renames, so an interrupted build leaves neither a
half-written output nor a corrupted cache; the next build sweeps the temporaries it
left (``cache.sweep``). A build holds the cache (``Store.lease``) from start to end, so
``cache prune`` waits for it rather than pulling a blob from under it.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from layerplan.cache.store import Store
from layerplan.cache.sweep import Swept, cache_places, remove_abandoned_temps, scratch_places, sweep
from layerplan.containerize.app import AppWheel
from layerplan.containerize.report import BuildReport
from layerplan.events import Progress, StageStarted, no_progress
from layerplan.resolution.project import resolve_project
from layerplan.resolution.resolved import Request

__all__ = ["build_image"]


def build_image(request: Request, *, quiet: bool = False, progress: Progress = no_progress) -> BuildReport:
    """Build the image ``request`` describes and deliver it; raise ``LayerplanError`` on bad input.

    ``progress`` hears of every stage (``layerplan.events``), and of the requests that
    stall while the build runs; ``quiet`` drops the line about swept temporaries."""
    request = dataclasses.replace(request, need_base=True, need_outputs=True, allow_missing_wheels=False)
    progress(StageStarted(stage="resolve", detail=str(request.project)))
    project = resolve_project(request)
    with Store(project.cache_dir).lease(say=_say):
        swept = sweep((*cache_places(project.cache_dir), *scratch_places()))
        # The cache's temp areas hold only locked temporaries (leases, files being written):
        # a free one is a killed build's, removed whatever its age (not worth a line).
        remove_abandoned_temps(project.cache_dir)
        # The app's wheel starts building in the background before the lock and the base are
        # read, and before the HTTP, image and planning code is even imported (~0.1 s):
        # time the backend's process uses instead of adding to a code-change rebuild.
        with AppWheel(project) as app_wheel:
            from layerplan.containerize.pipeline import run_build
            from layerplan.http.watchdog import route_stalls
            from layerplan.resolution.resolve import resolve_build

            with route_stalls(progress), resolve_build(request, resolved_project=project, progress=progress) as resolved:
                swept += sweep(place for sink in resolved.outputs for place in sink.temp_places())
                _tell(swept, quiet)
                report = run_build(resolved, app_wheel, progress=progress)
                digest_file = resolved.config.digest_file
    if digest_file is not None:  # after every output succeeded: a signer signs only what is there
        from layerplan.containerize.digest_file import write_digest_file

        report = dataclasses.replace(report, digest_file=digest_file)
        write_digest_file(Path(digest_file), [report])
    return report


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _tell(swept: Swept, quiet: bool) -> None:
    """One line on stderr when the sweep freed something: like ``uv cache prune``'s summary,
    it says what went where a user would otherwise wonder where the disk space went; a
    quiet build (``--quiet``, ``--json``) says nothing, as Jib's cleanup never does."""
    if swept.count and not quiet:
        _say(swept.describe())
