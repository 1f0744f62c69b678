"""``layerplan watch``: rebuild on every change to the build's inputs, then run the new image.

The inner loop of development, as ``skaffold dev`` or ``jib:build`` under a file watcher:
a code edit changes only the app layer, which layerplan rebuilds in well under a second.
Changes within the debounce window make one rebuild; a change made during a build makes
one more after it. A build that fails prints its one ``error:`` line and the watch goes
on; Ctrl-C stops it (exit 130) and removes the container it started.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from layerplan.cli.options import add_image_options, add_target_options, examples, non_empty, request_from_args

if TYPE_CHECKING:
    from layerplan.cli.after_build import CommandRunner, ContainerRunner
    from layerplan.cli.watch_inputs import WatchedInputs
    from layerplan.containerize.report import BuildReport
    from layerplan.errors import LayerplanError

__all__ = ["register"]

DEFAULT_DEBOUNCE_MS = 300
_TICK_MS = 200


def _milliseconds(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of milliseconds") from None
    if not 10 <= number <= 60_000:
        raise argparse.ArgumentTypeError("must be between 10 and 60000 milliseconds")
    return number


def register(commands: Any) -> None:
    """Add the ``watch`` subcommand."""
    parser = commands.add_parser(
        "watch",
        help="rebuild the image on every change to the project or its local packages, then run it",
        description=(
            "Build the image, then watch the project's sources, pyproject.toml, the lockfile and every "
            "local package; rebuild on each change (only the changed layers) and restart a container "
            "or run a command with the new image. A failing build prints its error and the watch goes on."
        ),
        epilog=examples(
            ("layerplan watch --base python:3.12-slim -o docker-daemon:app:dev --run-container app", "rebuild, load and restart container `app`"),
            ("layerplan watch -o docker://localhost:5000/app:dev --exec 'kubectl rollout restart deploy/app'", "push, then run a command"),
            ("layerplan watch -o docker-daemon:app:dev --exec 'docker run --rm --network none $LAYERPLAN_IMAGE'", "run each new image once"),
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(parser)
    add_image_options(parser)
    after = parser.add_mutually_exclusive_group()
    after.add_argument(
        "--run-container", type=non_empty, metavar="NAME",
        help="after each build, replace container NAME with one of the new image (needs a docker-daemon:REF output); "
        "its output is shown prefixed with [NAME]",
    )
    after.add_argument(
        "--exec", type=non_empty, metavar="CMD", dest="exec_command",
        help="after each build, run CMD through the shell with LAYERPLAN_IMAGE_DIGEST and LAYERPLAN_IMAGE set "
        "(a run still going from the previous build is stopped first)",
    )
    parser.add_argument(
        "--network", type=non_empty, default="none", metavar="MODE",
        help="network of the --run-container container (default: none)",
    )
    parser.add_argument(
        "--debounce", type=_milliseconds, default=DEFAULT_DEBOUNCE_MS, metavar="MS",
        help=f"wait until the files have been quiet this long before rebuilding (default: {DEFAULT_DEBOUNCE_MS})",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build, act, and watch until interrupted (``KeyboardInterrupt`` reaches ``main``: 130)."""
    import watchfiles

    from layerplan.cli.after_build import CommandRunner, ContainerRunner

    request_from_args(args)  # a bad flag is an error now, not on every rebuild; each build makes its own
    runner: ContainerRunner | CommandRunner | None = None
    if args.run_container:
        runner = ContainerRunner(args.run_container, network=args.network)
    elif args.exec_command:
        runner = CommandRunner(args.exec_command)
    loop = _Loop(args, runner)
    inputs = _first_inputs(args)
    watcher = _Watcher(watchfiles, inputs, args.debounce)
    try:
        # Watching starts before the first build, so a save made during it is not missed.
        loop.rebuild()
        while True:
            changed = watcher.next_batch()
            _say(f"changed: {changed}")
            loop.rebuild()
            again = loop.inputs() or inputs
            if again != inputs:  # a lock change brought (or took) a local package
                watcher.close()
                inputs, watcher = again, _Watcher(watchfiles, again, args.debounce)
    finally:
        watcher.close()
        if runner is not None:
            runner.close()


def _first_inputs(args: argparse.Namespace) -> WatchedInputs:
    """What to watch from the start. A project that cannot be read yet (a broken
    pyproject.toml) is watched as its directory, so that fixing it rebuilds; a project
    directory that is not there, or a --run-container with no docker-daemon: output, is an error
    now (exit 2), before any build."""
    from layerplan.cli.watch_inputs import fallback_inputs, watched_inputs
    from layerplan.errors import LayerplanError

    try:
        inputs = watched_inputs(request_from_args(args))
    except LayerplanError:
        pyproject = args.project / "pyproject.toml" if args.project.is_dir() else args.project
        if not pyproject.is_file():
            raise
        return fallback_inputs(args.project)
    if args.run_container and not any(_loads_into_engine(spec) for spec in inputs.outputs):
        raise _no_docker_output()
    return inputs


def _loads_into_engine(spec: str) -> bool:
    """The output loads the image into the Docker engine (the transports decide what a
    spelling means, old ones included)."""
    from layerplan.transports import parse_output

    return parse_output(spec).kind == "docker"


def _no_docker_output() -> LayerplanError:
    from layerplan.errors import ConfigError

    return ConfigError(
        "--run-container runs the image in the Docker engine, and no output loads it there",
        key="--run-container",
        hint="add -o docker-daemon:NAME:TAG",
    )


class _Watcher:
    """Debounced batches of changes to ``inputs``, recorded from the moment it is made (the
    constructor returns once the OS watches are in place) until ``close()``: a save made
    while a build runs is in the next batch."""

    def __init__(self, watchfiles: Any, inputs: WatchedInputs, debounce_ms: int) -> None:
        default_filter = watchfiles.DefaultFilter()  # editors' swap and backup files

        def wanted(change: Any, path: str) -> bool:
            return bool(default_filter(change, path)) and inputs.wants(Path(path))

        # ``step`` is the quiet time that ends a batch; ``debounce`` caps a batch that never
        # goes quiet. ``yield_on_timeout`` gives an empty batch every ``rust_timeout`` ms,
        # which tells that the watches are in place.
        self._batches: Iterator[set[tuple[Any, str]]] = watchfiles.watch(
            *inputs.roots, watch_filter=wanted, step=debounce_ms, debounce=max(1600, 4 * debounce_ms),
            rust_timeout=_TICK_MS, yield_on_timeout=True, raise_interrupt=True,
        )
        self._pending = next(self._batches)
        _say(f"watching {inputs.describe()} (Ctrl-C to stop)")

    def next_batch(self) -> str:
        """Block until a batch of changes; describe it in a few words."""
        changes, self._pending = self._pending, set()
        while not changes:
            changes = next(self._batches)
        paths = sorted({path for _, path in changes})
        shown = _short(Path(paths[0]))
        return shown if len(paths) == 1 else f"{shown} and {len(paths) - 1} more"

    def close(self) -> None:
        close = getattr(self._batches, "close", None)
        if close is not None:
            close()


class _Loop:
    """One build after another, each with the options as they are then."""

    def __init__(self, args: argparse.Namespace, runner: ContainerRunner | CommandRunner | None) -> None:
        self.args = args
        self.runner = runner
        self.last_digest: str | None = None
        self.warned: set[str] = set()

    def rebuild(self) -> None:
        """Build and act on the image; print the result line, or the error line."""
        from layerplan.console import warn_each
        from layerplan.containerize import build_image
        from layerplan.errors import LayerplanError

        started = time.perf_counter()
        try:
            report = build_image(request_from_args(self.args), quiet=True)
            # Each warning once per watch: the same unpinned base on every save is noise.
            warn_each(w for w in report.warnings if w not in self.warned)
            self.warned.update(report.warnings)
            self._act(report, time.perf_counter() - started)
        except LayerplanError as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)

    def inputs(self) -> WatchedInputs | None:
        """What to watch, as the project says now; ``None`` when it cannot be read (a
        broken pyproject.toml): the caller keeps watching what it watched."""
        from layerplan.cli.watch_inputs import watched_inputs
        from layerplan.errors import LayerplanError

        try:
            return watched_inputs(request_from_args(self.args))
        except LayerplanError:
            return None

    def _act(self, report: BuildReport, seconds: float) -> None:
        from layerplan.cli.after_build import ContainerRunner

        unchanged = report.image_digest == self.last_digest
        print(_result_line(report, seconds, unchanged=unchanged), flush=True)
        if unchanged or self.runner is None:
            self.last_digest = report.image_digest
            return
        if isinstance(self.runner, ContainerRunner):
            loaded = [o.location for o in report.outputs if o.kind == "docker"]
            if not loaded:  # the project's tables changed their outputs since the start
                raise _no_docker_output()
            self.runner.start(loaded[0])
        else:
            self.runner.start(report)
        self.last_digest = report.image_digest  # only once acted on: a failed start is retried next time


def _result_line(report: BuildReport, seconds: float, *, unchanged: bool) -> str:
    """``12:04:31 built sha256:1a2b3c4d5e6f in 0.41 s: 1 layer rebuilt (app), 2.1 kB pushed``."""
    from layerplan._units import format_size

    layers = (*report.layers, *(layer for platform in report.platforms for layer in platform.layers))
    built = list(dict.fromkeys(layer.name for layer in layers if layer.status == "built"))
    rebuilt = f"{len(built)} layer{'s' if len(built) != 1 else ''} rebuilt" + (f" ({', '.join(built)})" if built else "")
    digest = report.image_digest.removeprefix("sha256:")[:12]
    what = "unchanged" if unchanged else "built"
    parts = [rebuilt]
    if any(o.kind == "registry" for o in report.outputs):
        parts.append(f"{format_size(sum(o.bytes_uploaded for o in report.outputs))} pushed")
    parts += [f"loaded as {o.location}" for o in report.outputs if o.kind == "docker"]
    return f"{time.strftime('%H:%M:%S')} {what} {digest} in {seconds:.2f} s: {', '.join(parts)}"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _short(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
