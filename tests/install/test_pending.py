"""``install.pending.Pending``: work started now, joined once, stopped when abandoned or failed."""

from __future__ import annotations

import pytest

from layerplan.install.pending import Pending


def test_the_result_is_computed_once_and_a_stop_after_it_does_nothing() -> None:
    calls, stops = [], []
    pending = Pending(lambda: calls.append(1) or "wheel", lambda: stops.append(1))
    assert pending.result() == "wheel" and pending.result() == "wheel"
    pending.stop()
    assert calls == [1] and stops == []


def test_a_failure_stops_the_work_and_is_raised_again() -> None:
    stops = []

    def fail() -> str:
        raise RuntimeError("the backend failed")

    pending: Pending[str] = Pending(fail, lambda: stops.append(1))
    for _ in range(2):
        with pytest.raises(RuntimeError, match="the backend failed"):
            pending.result()
    pending.stop()
    assert stops == [1]


def test_abandoned_work_is_stopped_once_and_never_joined() -> None:
    joined, stops = [], []
    pending = Pending(lambda: joined.append(1), lambda: stops.append(1))
    pending.stop()
    pending.stop()
    assert stops == [1] and joined == []
    assert Pending.done(3).result() == 3
