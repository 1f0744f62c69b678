"""HTTP plumbing shared by the package index fetcher and the registry client.

One session factory (``new_session``: user agent, pool size, default timeouts), one
``RetryPolicy`` and one retry loop (``retrying``; ``exchange`` for a request and its
body), and a ``Watchdog`` that tells of requests that stall. Imports nothing of layerplan but ``errors``: fetch/ and registry/ sit above it.

The names are loaded on first use (PEP 562): importing ``requests`` costs ~40 ms, and a
build that makes no request (a local base, a local output) still imports this package
(``watchdog``'s stall routing is set up for every build). The retry loop lives in
``_exchange``, not ``exchange``: a submodule of that name would shadow the function.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from layerplan.http.errors import TransportError, reason, redact, root_cause
    from layerplan.http._exchange import RETRY_STATUSES, exchange
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

_MODULES = {
    "TransportError": "errors",
    "reason": "errors",
    "redact": "errors",
    "root_cause": "errors",
    "RETRY_STATUSES": "_exchange",
    "exchange": "_exchange",
    "Attempt": "retry",
    "OnRetry": "retry",
    "ReadAgain": "retry",
    "RetryPolicy": "retry",
    "TryAgain": "retry",
    "is_transient": "retry",
    "retry_after_seconds": "retry",
    "retrying": "retry",
    "DEFAULT_POOL_SIZE": "session",
    "USER_AGENT": "session",
    "Timeouts": "session",
    "new_session": "session",
    "Stall": "watchdog",
    "Watchdog": "watchdog",
}

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


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
