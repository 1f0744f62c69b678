"""The one retry policy and loop: waits, caps, Retry-After, what is retried and how often."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest
import requests

from layerplan.http import (
    Attempt,
    ReadAgain,
    RetryPolicy,
    TryAgain,
    is_transient,
    retry_after_seconds,
    retrying,
)


def test_backoff_doubles_with_downward_jitter_and_is_capped() -> None:
    policy = RetryPolicy(attempts=8, backoff=1.0, max_backoff=4.0, jitter=0.1)
    for _ in range(50):
        delays = [policy.delay(n) for n in range(1, 6)]
        assert 0.9 <= delays[0] <= 1.0 and 1.8 <= delays[1] <= 2.0 and 3.6 <= delays[2] <= 4.0
        assert all(3.6 <= d <= 4.0 for d in delays[2:])  # the cap holds, jitter included
    assert RetryPolicy(backoff=1.0, jitter=0.0).delay(3) == 4.0


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_backoff=4.0)
    assert policy.delay(1, retry_after=0.0) == 0.0  # no jitter on the server's own wish
    assert policy.delay(1, retry_after=2.5) == 2.5
    assert policy.delay(1, retry_after=120.0) == 4.0


def test_retry_after_header_in_seconds_or_as_an_http_date() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(" 0 ") == 0.0
    ahead = retry_after_seconds(formatdate(time.time() + 30, usegmt=True))
    assert ahead is not None and 28.0 <= ahead <= 30.0
    assert retry_after_seconds(formatdate(time.time() - 3600, usegmt=True)) == 0.0  # in the past: now
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None and retry_after_seconds("") is None


def test_once_keeps_everything_but_the_attempts() -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=7, backoff=2.0, sleep=waits.append)
    once = policy.once()
    assert once.attempts == 1 and once.backoff == 2.0 and once.sleep == waits.append


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (requests.ConnectionError("refused"), True),
        (requests.exceptions.ConnectTimeout("slow"), True),
        (requests.exceptions.ReadTimeout("slow"), True),
        (requests.exceptions.ChunkedEncodingError("cut"), True),
        (ReadAgain("short"), True),
        (TryAgain("503"), True),
        (requests.exceptions.SSLError("bad certificate"), False),
        (requests.exceptions.InvalidURL("no host"), False),
        (requests.exceptions.MissingSchema("no scheme"), False),
        (ValueError("a bug"), False),
    ],
)
def test_what_is_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_retrying_waits_between_tries_and_returns_the_first_success() -> None:
    waits: list[float] = []
    seen: list[Attempt] = []
    retried: list[int] = []

    def flaky(attempt: Attempt) -> str:
        seen.append(attempt)
        if attempt.number < 3:
            raise requests.ConnectionError("refused")
        return "ok"

    policy = RetryPolicy(attempts=4, backoff=1.0, jitter=0.0, sleep=waits.append)
    assert retrying(flaky, policy=policy, on_retry=lambda a, d, e: retried.append(a.number)) == "ok"
    assert [(a.number, a.last) for a in seen] == [(1, False), (2, False), (3, False)]
    assert waits == [1.0, 2.0] and retried == [1, 2]


def test_retrying_is_bounded_and_raises_the_last_error() -> None:
    waits: list[float] = []
    calls: list[bool] = []

    def always(attempt: Attempt) -> None:
        calls.append(attempt.last)
        raise TryAgain(f"try {attempt.number}", after=0.5)

    with pytest.raises(TryAgain, match="try 3"):
        retrying(always, policy=RetryPolicy(attempts=3, sleep=waits.append))
    assert calls == [False, False, True] and waits == [0.5, 0.5]


def test_permanent_errors_are_not_retried() -> None:
    waits: list[float] = []
    calls = []

    def broken(attempt: Attempt) -> None:
        calls.append(attempt.number)
        raise requests.exceptions.SSLError("certificate verify failed")

    with pytest.raises(requests.exceptions.SSLError):
        retrying(broken, policy=RetryPolicy(sleep=waits.append))
    assert calls == [1] and waits == []


def test_a_caller_may_say_what_is_retryable() -> None:
    waits: list[float] = []
    outcomes = iter([KeyError("temporary"), KeyError("temporary"), "done"])

    def step(attempt: Attempt) -> object:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    policy = RetryPolicy(attempts=3, sleep=waits.append)
    assert retrying(step, policy=policy, retryable=lambda e: isinstance(e, KeyError)) == "done"
    assert len(waits) == 2
