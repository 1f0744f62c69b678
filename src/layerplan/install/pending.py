"""Work started now and joined later: a backend's process runs while the caller does
something else (``hooks.start_hook``, ``kept_env.start_build_in_kept_env``,
``project_wheel.start_project_wheel``).

``result()`` waits and returns (or raises) once; later calls give the same. ``stop()``
ends what is still running (kills the process and waits for it) and removes what it
wrote aside; a ``result()`` that fails or is interrupted (Ctrl-C) stops it too, so no
process outlives the build that started it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Pending"]

T = TypeVar("T")


class Pending(Generic[T]):
    """A result on its way: ``wait`` computes it (blocking), ``stop`` abandons it."""

    def __init__(self, wait: Callable[[], T], stop: Callable[[], None] = lambda: None) -> None:
        self._wait: Callable[[], T] | None = wait
        self._stop = stop
        self._lock = threading.Lock()  # the main thread and a layer thread may both ask
        self._value: T | None = None
        self._error: BaseException | None = None

    @classmethod
    def done(cls, value: T) -> Pending[T]:
        """A result already there."""
        pending: Pending[T] = cls(lambda: value)
        pending.result()
        return pending

    @property
    def ready(self) -> bool:
        """Whether :meth:`result` would return (or raise) without waiting."""
        return self._wait is None

    def result(self) -> T:
        """Wait for the result; raise what computing it raised (every later call too)."""
        with self._lock:
            if self._wait is not None:
                wait, self._wait = self._wait, None
                try:
                    self._value = wait()
                except BaseException as error:
                    self._error = error
                    self._stop()
                    raise
                finally:
                    self._stop = lambda: None
            if self._error is not None:
                raise self._error
            return self._value  # type: ignore[return-value]  # set when there was no error

    def stop(self) -> None:
        """End what is still running and clean up; no effect once ``result()`` returned or raised."""
        stop, self._stop = self._stop, lambda: None
        stop()
