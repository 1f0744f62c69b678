"""Saying so when a request makes no progress: ``waiting for HOST (what, N s)``.

A registry or index that stalls (a commit it verifies for minutes, a proxy holding a
connection, a server that stopped answering) would otherwise leave the terminal silent
until the read timeout, which is minutes. A ``Watchdog`` keeps a table of the requests
in flight and the time each last moved (sent, answered, a chunk of body read); one
daemon thread looks at it a few times per threshold and tells ``notify`` of each request
that has not moved for ``after`` seconds, then again each time the wait doubles. Nothing
is said while requests move.

``notify`` gets a ``Stall`` value (an event of ``layerplan.events``), not text, so that a
front end may show it as it likes: a build routes it into its event stream
(``route_stalls``), anything else prints one line on stderr.
``check(now)`` is the whole decision, without the thread, so tests need no clock.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from layerplan.events import Stall

__all__ = [
    "DEFAULT_AFTER", "AFTER_ENV", "Stall", "Watch", "Watchdog", "print_stall", "route_stalls", "routed", "shared_watchdog",
    "stall_threshold", "track_reads",
]

DEFAULT_AFTER = 10.0
"""Seconds without progress before a request is reported as waiting."""
AFTER_ENV = "LAYERPLAN_STALL_NOTICE_AFTER"
"""For tests only: the threshold in seconds (a fraction of a second lets a test stall
for a moment instead of ten seconds). Not a user setting, not documented as one."""


def print_stall(stall: Stall) -> None:
    """The fallback ``notify``: the stall's line on stderr."""
    print(stall.line(), file=sys.stderr, flush=True)


_ROUTE: list[Callable[[Stall], None]] = []


@contextmanager
def route_stalls(notify: Callable[[Stall], None]) -> Iterator[None]:
    """Send the stalls of watchdogs made with the default ``notify`` (the registry
    clients' shared one) to ``notify`` while the block runs (a build's event stream);
    outside any block they are printed (``print_stall``)."""
    _ROUTE.append(notify)
    try:
        yield
    finally:
        _ROUTE.remove(notify)


def routed(stall: Stall) -> None:
    """The default ``notify``: to the innermost ``route_stalls``, else ``print_stall``."""
    route = _ROUTE[-1] if _ROUTE else print_stall
    route(stall)


def stall_threshold() -> float:
    """``DEFAULT_AFTER``, or the test override in ``AFTER_ENV``."""
    try:
        value = float(os.environ.get(AFTER_ENV, ""))
    except ValueError:
        return DEFAULT_AFTER
    return value if value > 0 else DEFAULT_AFTER


class Watch:
    """One request being watched: call ``moved()`` whenever it makes progress."""

    __slots__ = ("_clock", "host", "last", "next_notice", "stall_from", "what")

    def __init__(self, host: str, what: str, clock: Callable[[], float], after: float) -> None:
        self.host = host
        self.what = what
        self._clock = clock
        self.last = clock()
        self.stall_from = self.last
        """The ``last`` that ``next_notice`` counts from (the checker's copy)."""
        self.next_notice = after

    def moved(self) -> None:
        """Progress: the stall clock starts again (and a later stall is reported afresh)."""
        self.last = self._clock()


class Watchdog:
    """Watches requests in flight; ``notify`` hears of those stalled ``after`` seconds or more.

    Thread-safe: requests of many threads may be watched at once. The checking thread
    starts with the first watch and is a daemon, so it never holds the process open.
    """

    def __init__(
        self,
        *,
        after: float | None = None,
        notify: Callable[[Stall], None] = routed,
        clock: Callable[[], float] = time.monotonic,
        background: bool = True,
    ) -> None:
        """``after`` defaults to ``stall_threshold()``. ``background=False``: no checking
        thread; the caller calls ``check`` (tests, with their own ``clock``)."""
        self.after = after if after is not None else stall_threshold()
        self._background = background
        self._notify = notify
        self._clock = clock
        self._watches: dict[int, Watch] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, host: str, what: str) -> Iterator[Watch]:
        """Watch a request for the length of the block; the block calls ``moved()`` on progress."""
        watch = Watch(host, what, self._clock, self.after)
        key = next(self._ids)
        with self._lock:
            self._watches[key] = watch
            if self._thread is None and self._background:
                self._thread = threading.Thread(target=self._run, name="layerplan-watchdog", daemon=True)
                self._thread.start()
        try:
            yield watch
        finally:
            with self._lock:
                del self._watches[key]

    def check(self, now: float) -> list[Stall]:
        """The stalls to report at ``now`` (and ``notify`` told of each): a request still
        waiting ``after`` seconds since it last moved, then at twice, four times... that."""
        due: list[Stall] = []
        with self._lock:
            for watch in self._watches.values():
                last = watch.last
                if last != watch.stall_from:  # it moved since: a new stall starts over
                    watch.stall_from, watch.next_notice = last, self.after
                waited = now - last
                if waited >= watch.next_notice:
                    due.append(Stall(host=watch.host, what=watch.what, seconds=waited))
                    while watch.next_notice <= waited:
                        watch.next_notice *= 2
        for stall in due:
            self._notify(stall)
        return due

    def _run(self) -> None:
        interval = min(max(self.after / 4, 0.05), 1.0)
        while True:
            time.sleep(interval)
            self.check(self._clock())


_SHARED: Watchdog | None = None
_SHARED_LOCK = threading.Lock()


def shared_watchdog() -> Watchdog:
    """One watchdog (one checking thread) for every client of the process: registries,
    indexes and downloads."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Watchdog()
        return _SHARED


def track_reads(response: Any, watch: Watch) -> None:
    """Each read of a streamed ``requests`` body counts as progress: requests reads
    through ``response.raw.read``, so that one bound method is wrapped, on this response only."""
    raw = response.raw
    read = getattr(raw, "read", None)
    if read is None:
        return

    def tracked(*args: Any, **kwargs: Any) -> Any:
        data = read(*args, **kwargs)
        watch.moved()
        return data

    setattr(raw, "read", tracked)  # noqa: B010 -- an instance attribute, on purpose
