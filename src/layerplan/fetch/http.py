"""The fetch side's HTTP: one pooled session, the shared retry policy, and counters.

Sessions, retries and their errors are ``layerplan.http``'s; this wrapper adds what the
fetcher reports: every request is counted in ``stats`` (retries included), so callers and
tests can tell a cache hit (no request) from a download, and one session serves the index
lookups and the downloads of a ``Fetcher``'s threads. Every request is watched, as the
registry's are: one that makes no progress says ``waiting for HOST (GET FILE, N s)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

import requests

from layerplan.http import DEFAULT_POOL_SIZE, Attempt, RetryPolicy, exchange, new_session
from layerplan.http.watchdog import Watchdog, shared_watchdog, track_reads

__all__ = ["HttpClient", "HttpStats"]

T = TypeVar("T")


@dataclass(slots=True)
class HttpStats:
    """Counters, safe to read after the fetch finished."""

    requests: int = 0
    """HTTP requests sent, retries included."""
    retries: int = 0
    bytes: int = 0
    """Body bytes received by ``stream`` callers."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, requests: int = 0, retries: int = 0, bytes: int = 0) -> None:
        with self.lock:
            self.requests += requests
            self.retries += retries
            self.bytes += bytes


class HttpClient:
    """GETs for index pages and file downloads through one ``layerplan.http`` session,
    retried under ``retry`` and counted in ``stats``. ``pool_size``: threads sharing it."""

    def __init__(
        self, *, retry: RetryPolicy | None = None, pool_size: int = DEFAULT_POOL_SIZE, watchdog: Watchdog | None = None
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.watchdog = watchdog or shared_watchdog()
        self.stats = HttpStats()
        self.session = new_session(pool_size=pool_size)

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        handle: Callable[[requests.Response], T],
        *,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> T:
        """GET ``url`` and return ``handle(response)``, retrying transient failures.

        ``handle`` sees the final response whatever its status (a 404, or a 503 after
        the last try) and may read a streamed body; it must be safe to call again, as a
        body cut short (or a ``ReadAgain`` it raises) starts a new attempt.
        Raises ``layerplan.http.TransportError`` when no attempt got an answer.
        """

        with self.watchdog.watch(*_described(url)) as watch:

            def send() -> requests.Response:
                self.stats.add(requests=1)
                watch.moved()  # a new try starts its own wait
                response = self.session.get(url, headers=headers, stream=stream)
                watch.moved()
                if stream:
                    track_reads(response, watch)
                return response

            def count_retry(attempt: Attempt, delay: float, error: BaseException) -> None:
                self.stats.add(retries=1)

            return exchange(send, handle, method="GET", url=url, policy=self.retry, on_retry=count_retry)


def _described(url: str) -> tuple[str, str]:
    """Host and request for a stall line: ``files.pythonhosted.org``, ``GET numpy-2.1.whl``.
    Only the host and the last part of the path: a private index may carry a token in
    its user info or its path."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port:
        host = f"{host}:{parts.port}"
    last = [segment for segment in parts.path.split("/") if segment]
    return host, f"GET {last[-1] if last else '/'}"
