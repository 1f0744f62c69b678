"""One HTTP request and the reading of its answer, retried as a whole.

A retried attempt sends the request again and hands the new response to the caller's
body handler from the start, so a body cut short is retried exactly like a refused
connection. 429 and the 5xx answers that mean "not now" are retried too (honouring
``Retry-After``); on the last attempt such an answer goes to the handler like any other,
so the caller reports the registry's or index's own words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import requests

from layerplan.http.errors import TransportError, redact
from layerplan.http.retry import Attempt, OnRetry, ReadAgain, RetryPolicy, TryAgain, retry_after_seconds, retrying

__all__ = ["RETRY_STATUSES", "exchange"]

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Answers a later try may not get. (501 or 505 will not change.)"""


class _RetryStatus(TryAgain):
    """A retryable status answered before the last attempt."""


def exchange(
    send: Callable[[], requests.Response],
    handle: Callable[[requests.Response], T],
    *,
    method: str,
    url: str,
    policy: RetryPolicy,
    on_retry: OnRetry | None = None,
) -> T:
    """``handle(send())``, retried under ``policy``; returns what ``handle`` returns.

    ``send`` sends one request (``method url``, only named for messages) and returns its
    response; ``handle`` reads it. ``handle`` sees every answer that is not retried, any
    status; it must read what it needs, as the response is closed when it returns. It may
    raise ``ReadAgain`` when it finds the body short; a ``ChunkedEncodingError`` (short
    body) or a TLS error while reading counts the same. Its other errors pass unchanged.

    Raises ``TransportError`` when no try got an answer: connection errors, timeouts and
    short bodies on every try, or a TLS or malformed-URL error at once.
    """
    tries = 0

    def attempt(this: Attempt) -> T:
        nonlocal tries
        tries = this.number
        response = send()
        with response:
            if not this.last and response.status_code in RETRY_STATUSES:
                after = retry_after_seconds(response.headers.get("Retry-After"))
                raise _RetryStatus(f"HTTP {response.status_code}", after=after)
            try:
                return handle(response)
            except requests.exceptions.SSLError as error:
                # The handshake succeeded before the handler ran: this is a stream cut short.
                raise ReadAgain(f"TLS stream broke off: {error}") from error

    try:
        return retrying(attempt, policy=policy, on_retry=on_retry, what=f"{method} {redact(url.split('?', 1)[0])}")
    except (requests.RequestException, TryAgain) as error:
        raise TransportError(method=method, url=url, cause=error, attempts=tries) from error
