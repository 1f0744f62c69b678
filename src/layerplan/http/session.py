"""The one way layerplan makes an HTTP session: user agent, pool size, default timeouts.

``requests`` has no session-wide timeout (a request without ``timeout=`` may wait
forever), so the adapter this factory mounts fills in ``Timeouts`` for every request
that names none, redirects and token requests included. The adapter never retries by
itself (``max_retries=0``): ``layerplan.http.exchange`` is the one retry loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter

import layerplan

__all__ = ["DEFAULT_POOL_SIZE", "USER_AGENT", "Timeouts", "new_session"]

USER_AGENT = f"layerplan/{layerplan.__version__}"
DEFAULT_POOL_SIZE = 10
"""Connections kept per host; size it to the number of threads sharing the session."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Timeouts:
    """Seconds to wait for a connection, and for each read on it (not for a whole body)."""

    connect: float = 10.0
    read: float = 60.0


class _DefaultTimeoutAdapter(HTTPAdapter):
    def __init__(self, timeouts: Timeouts, pool_size: int) -> None:
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self._timeouts = (timeouts.connect, timeouts.read)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return super().send(
            request,
            stream=stream,
            timeout=self._timeouts if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def new_session(*, pool_size: int = DEFAULT_POOL_SIZE, timeouts: Timeouts | None = None) -> requests.Session:
    """A ``requests.Session`` with layerplan's user agent, ``pool_size`` pooled connections
    per host and ``timeouts`` (default ``Timeouts()``) for requests that give none.

    One session may serve many threads: urllib3's pools are thread-safe and nothing here
    changes the session after it is made.
    """
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    adapter = _DefaultTimeoutAdapter(timeouts or Timeouts(), max(pool_size, 1))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
