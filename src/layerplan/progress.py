"""The event stream (``layerplan.events``) on stderr, as every front end shows it.

``show_progress(verbose=..., quiet=...)`` gives the sink a build sends its events to:
- on a terminal, one live display: a row per stage (resolve, base, fetch, each layer
  built, each output) with what it is doing, its bytes and rate, and how long it took;
  the rows stay when it ends, as the build's table of work;
- off a terminal (a CI log, a pipe), plain lines as things happen, each with the time
  since the start, flushed at once, never wrapped, without escape codes: a line when a
  long stage starts (base, fetch, push, write), one when any stage finishes, and, while
  bytes move, one every few seconds with how many and how fast;
- ``quiet`` (``-q``, ``--json``): nothing but the line of a request that stalls.
``verbose`` (``-v``) adds every start, each step (a file downloaded, a layer compiling)
and the timings. Warnings are not events: ``console.warn`` prints them in every mode.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from layerplan._units import format_size
from layerplan.console import diagnostics, escape_controls, is_plain
from layerplan.events import Event, Progress, StageAdvanced, StageFinished, StageStarted, Stall

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

__all__ = ["show_progress"]

_LONG_STAGES = ("base", "fetch", "push", "write")
"""Stages whose start is worth a line in a log: they may take long, and say why it waits."""
_BYTES_EVERY = 5.0
"""Seconds between two lines of a stage's bytes in a log."""


@contextmanager
def show_progress(*, verbose: bool = False, quiet: bool = False, console: Console | None = None) -> Iterator[Progress]:
    """A sink for a build's events, shown on ``console`` (default: stderr) while the block runs."""
    if quiet:
        yield _stall_only
        return
    if console is None and is_plain(sys.stderr):
        yield _Lines(verbose).handle  # as below, without loading rich (~20 ms) to ask
        return
    console = console or diagnostics()
    if not console.is_terminal:
        yield _Lines(verbose).handle
        return
    live = _Live(console, verbose)
    with live.progress:
        yield live.handle


def _stall_only(event: Event) -> None:
    if isinstance(event, Stall):
        print(event.line(), file=sys.stderr, flush=True)


def _timings(event: StageFinished, seconds: float | None) -> str:
    steps = [f"{name} {taken:.1f}s" for name, taken in event.timings]
    if seconds is not None and not steps:
        steps.append(f"in {seconds:.1f}s")
    return f" ({', '.join(steps)})" if steps else ""


def _rate(nbytes: int, seconds: float) -> str:
    return f"{format_size(int(nbytes / seconds))}/s" if seconds > 0 else "?"


class _Lines:
    """One plain line per event worth logging, on stderr."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.start = time.monotonic()
        self._lock = threading.Lock()
        self._begun: dict[str, float] = {}
        self._bytes: dict[str, int] = {}
        self._said: dict[str, float] = {}

    def _say(self, text: str) -> None:
        # One line whatever the text holds: a log line is never wrapped or split.
        line = f"[{time.monotonic() - self.start:6.1f}s] {escape_controls(' '.join(text.split()))}"
        print(line, file=sys.stderr, flush=True)

    def handle(self, event: Event) -> None:
        with self._lock:
            now = time.monotonic()
            if isinstance(event, StageStarted):
                self._begun[event.stage] = self._said[event.stage] = now
                self._bytes[event.stage] = 0
                if self.verbose or event.stage.startswith(_LONG_STAGES):
                    self._say(f"{event.stage}: started" + (f" ({event.detail})" if event.detail else ""))
            elif isinstance(event, StageAdvanced):
                self._advanced(event, now)
            elif isinstance(event, StageFinished):
                begun = self._begun.pop(event.stage, None)
                if event.skipped:
                    self._bytes.pop(event.stage, None)
                    return
                seconds = now - begun if begun is not None else None
                text = f"{event.stage}: {event.summary or 'done'}"
                moved = self._bytes.pop(event.stage, 0)
                if self.verbose:
                    text += _timings(event, seconds)
                    if moved > 0 and seconds:
                        text += f", {_rate(moved, seconds)}"
                self._say(text)
            else:
                self._say(event.line())

    def _advanced(self, event: StageAdvanced, now: float) -> None:
        stage = event.stage
        if stage not in self._begun:
            return  # a stage nobody started (or that finished): nothing to tell
        if self.verbose and event.detail:
            self._say(f"{stage}: {event.detail}")
        if event.bytes:
            self._bytes[stage] += event.bytes
            if now - self._said[stage] >= _BYTES_EVERY:
                self._said[stage] = now
                moved = self._bytes[stage]
                self._say(f"{stage}: {format_size(moved)} so far ({_rate(moved, now - self._begun[stage])})")


class _Live:
    """One rich display on the terminal: a row per stage."""

    def __init__(self, console: Console, verbose: bool) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            ProgressColumn,
            SpinnerColumn,
            Task,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.text import Text

        class _IfBytes(ProgressColumn):
            """A column shown only for the stages that move bytes (fetch, push)."""

            def __init__(self, inner: ProgressColumn) -> None:
                super().__init__()
                self.inner = inner

            def render(self, task: Task) -> Text:
                if not task.fields.get("moves_bytes"):
                    return Text("")
                rendered = self.inner.render(task)
                return rendered if isinstance(rendered, Text) else Text(str(rendered))

        class _Rate(ProgressColumn):
            """Bytes per second: live while it moves, the average once done."""

            def render(self, task: Task) -> Text:
                speed = task.speed
                if task.finished and task.elapsed:
                    speed = task.completed / task.elapsed
                return Text(f"{format_size(int(speed))}/s" if speed else "", style="progress.data.speed")

        self.verbose = verbose
        self.progress = Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            _IfBytes(DownloadColumn()),
            _IfBytes(_Rate()),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=console,
            transient=False,
        )
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self._totals: dict[TaskID, int] = {}
        self._moved: dict[TaskID, int] = {}

    def handle(self, event: Event) -> None:
        progress = self.progress
        if isinstance(event, Stall):
            progress.console.print(event.line(), markup=False, highlight=False)
            return
        with self._lock:
            if isinstance(event, StageStarted):
                moves_bytes = event.stage.startswith(("fetch", "push"))
                total = event.total_bytes if moves_bytes else None
                added = progress.add_task(event.stage, total=total, status=event.detail, moves_bytes=moves_bytes)
                self._tasks[event.stage] = added
                self._totals[added], self._moved[added] = total or 0, 0
                return
            found = self._tasks.get(event.stage)
            if found is None:
                return
            task = found
            self._totals[task] += event.total_bytes if isinstance(event, StageAdvanced) else 0
            self._moved[task] += event.bytes if isinstance(event, StageAdvanced) else 0
            total, moved = self._totals[task], self._moved[task]
        if isinstance(event, StageFinished) and event.skipped:
            progress.remove_task(task)
            return
        if isinstance(event, StageAdvanced):
            progress.update(task, total=total or None, completed=moved)
            if event.detail:
                progress.update(task, status=event.detail)
            return
        # the elapsed column shows how long it took: the steps' timings only
        status = event.summary + (_timings(event, None) if self.verbose else "")
        progress.update(task, total=moved or 1, completed=moved or 1, status=status)
        progress.stop_task(task)
