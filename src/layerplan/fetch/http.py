"""A small HTTP client for index pages and file downloads: pooled, retrying, counted.

Retries (bounded, exponential backoff) cover what a later attempt can fix: 5xx and 429
answers, refused or dropped connections, read timeouts and bodies cut short. Other 4xx
answers are returned to the caller at once. Every request is counted in ``stats`` so
callers and tests can tell a cache hit (no request) from a download.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import requests
from requests.adapters import HTTPAdapter

import layerplan

__all__ = ["HttpClient", "HttpStats", "RetryPolicy", "TransientHTTPError", "describe"]

T = TypeVar("T")

USER_AGENT = f"layerplan/{layerplan.__version__}"
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_RETRY_EXCEPTIONS = (
    requests.ConnectionError,  # refused, reset, DNS; also urllib3 protocol errors
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,  # body cut short
    requests.exceptions.ContentDecodingError,
)


def describe(error: BaseException) -> str:
    """A short human reason for a transport failure."""
    if isinstance(error, (requests.exceptions.ChunkedEncodingError, TransientHTTPError)):
        reason = "the connection dropped mid-transfer"
    elif isinstance(error, requests.Timeout):
        reason = "timed out"
    elif isinstance(error, requests.ConnectionError):
        reason = "connection failed"
    else:
        reason = "request failed"
    return f"{reason} ({type(error).__name__})"


class TransientHTTPError(Exception):
    """Raised by a ``get`` body callback to ask for another attempt (e.g. a short body)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry."""

    attempts: int = 5
    """Tries in all (the first one included)."""
    backoff: float = 0.5
    """Seconds before the second try; doubles each time."""
    max_backoff: float = 8.0
    """Upper bound for one wait, also for a server's ``Retry-After``."""
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None and retry_after.strip().isdigit():
            return min(float(retry_after), self.max_backoff)
        return min(self.backoff * 2.0 ** (attempt - 1), self.max_backoff)


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
    """One ``requests`` session per thread, shared retry policy and counters."""

    def __init__(
        self,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        pool_size: int = 16,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.stats = HttpStats()
        self._sleep = sleep
        self._pool_size = pool_size
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            adapter = HTTPAdapter(pool_connections=self._pool_size, pool_maxsize=self._pool_size)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close every thread's session."""
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _request(self, url: str, headers: dict[str, str], stream: bool) -> Iterator[requests.Response]:
        self.stats.add(requests=1)
        response = self._session().get(
            url,
            headers=headers,
            stream=stream,
            timeout=(self.retry.connect_timeout, self.retry.read_timeout),
            allow_redirects=True,
        )
        try:
            yield response
        finally:
            response.close()

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
        body cut short (or a ``TransientHTTPError`` it raises) starts a new attempt.
        After the last attempt the connection error itself is raised.
        """
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.retry.attempts
            try:
                with self._request(url, headers or {}, stream) as response:
                    if response.status_code not in _RETRY_STATUS or last:
                        return handle(response)
                    delay = self.retry.delay(attempt, response.headers.get("Retry-After"))
            except (*_RETRY_EXCEPTIONS, TransientHTTPError):
                if last:
                    raise
                delay = self.retry.delay(attempt)
            self.stats.add(retries=1)
            self._sleep(delay)
