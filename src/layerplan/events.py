"""What the pipeline is doing, as values: one event stream, rendered by the front ends.

The stages emit events to a ``Progress`` sink passed down to them (a plain callable);
they never print. A front end decides how the stream looks (``layerplan.progress``: a
live display on a terminal, plain lines in a log, nothing with ``-q``). Events come from
many threads at once (layers build side by side, blobs upload in parallel, the watchdog
has a thread of its own): a sink must be thread-safe.

Stage names say what and which: ``resolve``, ``base``, ``fetch``, ``layer NAME``,
``sdist NAME`` (a wheel built from source), ``push OUTPUT``, ``write OUTPUT``. Work that
is skipped (a cached layer, a blob the registry has) emits nothing: a stage that starts is
work that is done, or one that finishes ``skipped`` when that was learnt only on the way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Event", "Progress", "StageAdvanced", "StageFinished", "StageStarted", "Stall", "no_progress"]


@dataclass(frozen=True, kw_only=True, slots=True)
class StageStarted:
    """A stage began; totals when known (a fetch knows its files, a push does not know
    which blobs the registry lacks)."""

    stage: str
    detail: str = ""
    """What it works on, in words (``python:3.12-slim``, ``12 files``)."""
    total_bytes: int | None = None
    total_count: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class StageAdvanced:
    """A stage moved: ``bytes`` and ``count`` more done (deltas, not totals); ``detail``
    names the step it is in now (``compile``) or the item just done (a file's name)."""

    stage: str
    bytes: int = 0
    count: int = 0
    detail: str = ""
    total_bytes: int = 0
    """Bytes to add to the stage's total (a download whose size was learnt late)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StageFinished:
    """A stage is done; ``summary`` says what it did (``built 14.2 MB``), ``timings`` how
    long its steps took (``(("install", 1.1), ("compile", 0.8))``)."""

    stage: str
    summary: str = ""
    bytes: int | None = None
    timings: tuple[tuple[str, float], ...] = ()
    skipped: bool = False
    """It turned out to be no work (a wheel found in the store): show nothing of it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Stall:
    """A request that has made no progress for ``seconds`` (``layerplan.http.Watchdog``)."""

    host: str
    """Who is being waited for (``127.0.0.1:5000``, ``pypi.org``)."""
    what: str
    """The request in words: ``PUT blob ab12cd34ef56``."""
    seconds: float

    def line(self) -> str:
        """``waiting for 127.0.0.1:5000 (PUT blob ab12cd34ef56, 10 s)``."""
        shown = f"{self.seconds:.0f}" if self.seconds >= 10 else f"{self.seconds:.1f}"
        return f"waiting for {self.host} ({self.what}, {shown} s)"


Event = StageStarted | StageAdvanced | StageFinished | Stall

Progress = Callable[[Event], None]
"""Where a stage sends its events (thread-safe)."""


def no_progress(event: Event) -> None:
    """The default sink: nobody is listening."""
