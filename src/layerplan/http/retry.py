"""One retry policy and one retry loop for every request layerplan sends.

``RetryPolicy`` says how often and how patiently; ``retrying`` calls an operation until
it succeeds, fails for good, or the attempts run out. ``exchange`` (exchange.py) runs one
HTTP request and the reading of its body inside this loop; the registry's chunked upload
runs a whole upload inside it.

Hand-written rather than urllib3's ``Retry`` on the adapter: that one retries inside
``send``, before the body is read, so a body cut short would need a second loop whose
attempts multiply with the first; it also sleeps with ``time.sleep`` (tests could not
skip the waits) and cannot say "start over" for a multi-request upload. urllib3 still
parses ``Retry-After`` (``retry_after_seconds``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

import requests
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

__all__ = [
    "Attempt",
    "OnRetry",
    "ReadAgain",
    "RetryPolicy",
    "TryAgain",
    "is_transient",
    "retry_after_seconds",
    "retrying",
]

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """How often and how patiently to try again. The one policy of fetch and registry."""

    attempts: int = 5
    """Tries in all, the first one included (1 = never retry)."""
    backoff: float = 0.5
    """Seconds before the second try; doubled before each next one."""
    max_backoff: float = 8.0
    """Longest single wait, also the cap on a server's ``Retry-After``."""
    jitter: float = 0.1
    """Each computed wait is shortened by up to this fraction, at random, so that
    parallel workers failing together do not come back together."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    """How to wait; tests pass ``list.append`` to record the waits instead."""

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based); ``retry_after`` is
        the server's wish in seconds, honoured up to ``max_backoff``."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff)
        base = min(self.backoff * 2.0 ** (attempt - 1), self.max_backoff)
        return base * (1.0 - self.jitter * random.random())

    def once(self) -> RetryPolicy:
        """This policy without retries, for requests that must not repeat."""
        return replace(self, attempts=1)


@dataclass(frozen=True, kw_only=True, slots=True)
class Attempt:
    """Which try an operation is on."""

    number: int
    """1 for the first try."""
    last: bool
    """No try follows this one: an answer that would be retried must be taken as final."""


class TryAgain(Exception):
    """Raised inside a retried operation: this try failed in a way a later one may not.

    ``after`` is how long the server asked us to wait, in seconds (``Retry-After``).
    """

    def __init__(self, message: str, *, after: float | None = None) -> None:
        super().__init__(message)
        self.after = after


class ReadAgain(TryAgain):
    """Raised by a body handler: the body was cut short; send the request again and
    read the new body from its start."""


OnRetry = Callable[[Attempt, float, BaseException], None]
"""Told of each retry: the failed attempt, the wait before the next one, the failure."""

_PERMANENT = (
    requests.exceptions.SSLError,  # a certificate or protocol mismatch stays so
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidHeader,
)
_TRANSIENT = (
    TryAgain,
    requests.ConnectionError,  # refused, reset, DNS, proxy
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,  # body cut short (also a short Content-Length)
    requests.exceptions.ContentDecodingError,  # a compressed body cut short
)


def is_transient(error: BaseException) -> bool:
    """True for failures a later try may not meet: connection errors, timeouts, bodies cut
    short, ``TryAgain``. TLS and malformed-URL errors are permanent."""
    return not isinstance(error, _PERMANENT) and isinstance(error, _TRANSIENT)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` (seconds, or an HTTP date) as seconds from now; ``None`` if absent or unreadable."""
    if not value:
        return None
    try:
        return float(Retry().parse_retry_after(value))
    except InvalidHeader:
        return None


def retrying(
    operation: Callable[[Attempt], T],
    *,
    policy: RetryPolicy,
    retryable: Callable[[BaseException], bool] = is_transient,
    on_retry: OnRetry | None = None,
    what: str = "request",
) -> T:
    """``operation(attempt)``, called again after a wait while it raises a ``retryable``
    error, at most ``policy.attempts`` times in all.

    Returns what the first successful call returns; raises the last error when it is not
    retryable or no attempt is left. ``what`` names the operation in the log.
    """
    attempts = max(policy.attempts, 1)
    for number in range(1, attempts + 1):
        attempt = Attempt(number=number, last=number == attempts)
        try:
            return operation(attempt)
        except Exception as error:
            if attempt.last or not retryable(error):
                raise
            delay = policy.delay(number, error.after if isinstance(error, TryAgain) else None)
            log.info("%s: try %d of %d failed (%s: %s); again in %.2fs", what, number, attempts,
                     type(error).__name__, error, delay)  # fmt: skip
            if on_retry is not None:
                on_retry(attempt, delay, error)
        policy.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")
