"""The watchdog says which request waits, once at the threshold, then as the wait doubles; nothing while requests move."""

from __future__ import annotations

import pytest

from layerplan.http import Stall, Watchdog
from layerplan.http.watchdog import AFTER_ENV, DEFAULT_AFTER, stall_threshold


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _dog(clock: Clock, heard: list[Stall]) -> Watchdog:
    return Watchdog(after=5.0, notify=heard.append, clock=clock, background=False)


def test_a_stalled_request_is_reported_at_the_threshold_then_as_the_wait_doubles() -> None:
    clock, heard = Clock(), list[Stall]()
    dog = _dog(clock, heard)
    with dog.watch("127.0.0.1:5000", "PUT blob ab12cd34ef56"):
        said = []
        for seconds in (1, 4.9, 5, 6, 9.9, 10, 19, 20, 41):
            clock.now = 100.0 + seconds
            said += [round(s.seconds, 1) for s in dog.check(clock.now)]
    assert said == [5, 10, 20, 41]
    assert [s.line() for s in heard][:2] == [
        "waiting for 127.0.0.1:5000 (PUT blob ab12cd34ef56, 5.0 s)",
        "waiting for 127.0.0.1:5000 (PUT blob ab12cd34ef56, 10 s)",
    ]


def test_a_request_that_moves_is_never_reported_and_a_new_stall_starts_over() -> None:
    clock, heard = Clock(), list[Stall]()
    dog = _dog(clock, heard)
    with dog.watch("registry.example", "GET blob ab12cd34ef56") as watch:
        for _ in range(20):  # 40 s in all, moving every 2 s
            clock.now += 2
            watch.moved()
            assert dog.check(clock.now) == []
        clock.now += 7  # then it stalls: reported at 5 s of this stall, not at the total
        assert [s.seconds for s in dog.check(clock.now)] == [7]
        watch.moved()
        clock.now += 6
        assert [s.seconds for s in dog.check(clock.now)] == [6]  # a new stall: the threshold again


def test_a_finished_request_is_forgotten() -> None:
    clock, heard = Clock(), list[Stall]()
    dog = _dog(clock, heard)
    with dog.watch("registry.example", "HEAD blob ab12cd34ef56"):
        pass
    clock.now += 60
    assert dog.check(clock.now) == [] and heard == []


def test_each_request_in_flight_is_reported_by_name() -> None:
    clock, heard = Clock(), list[Stall]()
    dog = _dog(clock, heard)
    with dog.watch("a:5000", "PATCH blob 111111111111"), dog.watch("a:5000", "PUT manifest app:1") as moving:
        clock.now += 6
        moving.moved()
        assert [s.what for s in dog.check(clock.now)] == ["PATCH blob 111111111111"]


@pytest.mark.parametrize(("value", "expected"), [("0.25", 0.25), ("", DEFAULT_AFTER), ("x", DEFAULT_AFTER), ("-1", DEFAULT_AFTER)])
def test_the_threshold_is_ten_seconds_unless_a_test_says_otherwise(monkeypatch: pytest.MonkeyPatch, value: str, expected: float) -> None:
    monkeypatch.setenv(AFTER_ENV, value)
    assert stall_threshold() == expected
