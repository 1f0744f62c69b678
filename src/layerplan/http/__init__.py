"""HTTP plumbing shared by the package index fetcher and the registry client.

One session factory (``new_session``: user agent, pool size, default timeouts), one
``RetryPolicy`` and one retry loop (``retrying``; ``exchange`` for a request and its
body), and a ``Watchdog`` that tells of requests that stall. Imports nothing of layerplan but ``errors``: fetch/ and registry/ sit above it.
"""

from layerplan.http.errors import TransportError, reason, redact, root_cause
from layerplan.http.exchange import RETRY_STATUSES, exchange
from layerplan.http.retry import (
    Attempt,
    OnRetry,
    ReadAgain,
    RetryPolicy,
    TryAgain,
    is_transient,
    retry_after_seconds,
    retrying,
)
from layerplan.http.session import DEFAULT_POOL_SIZE, USER_AGENT, Timeouts, new_session
from layerplan.http.watchdog import Stall, Watchdog

__all__ = [
    "DEFAULT_POOL_SIZE",
    "RETRY_STATUSES",
    "USER_AGENT",
    "Attempt",
    "OnRetry",
    "ReadAgain",
    "RetryPolicy",
    "Stall",
    "Timeouts",
    "TransportError",
    "TryAgain",
    "Watchdog",
    "exchange",
    "is_transient",
    "new_session",
    "reason",
    "redact",
    "retry_after_seconds",
    "retrying",
    "root_cause",
]
