"""A request that got no usable answer, said in one line without credentials.

``TransportError`` is what the retry loop raises once every attempt failed without an
HTTP answer to hand on: refused or dropped connections, timeouts, TLS failures, bodies
cut short. Callers turn it into their own error (``DownloadError``,
``RegistryConnectionError``, ...) with a hint; ``summary`` is the part they quote.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import http.client

import requests
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from layerplan.errors import LayerplanError
from layerplan.http.retry import ReadAgain
from layerplan.urls import public_url

__all__ = ["TransportError", "reason", "redact", "root_cause"]

_CUT_SHORT = (ReadAgain, requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)


def redact(url: str) -> str:
    """``url`` as messages may show it: without credentials (``layerplan.urls.public_url``)."""
    return public_url(url)


def reason(error: BaseException) -> str:
    """A short human reason for a transport failure (``could not connect``, ``the connection
    was reset``, ``timed out``...)."""
    if isinstance(error, _CUT_SHORT):
        return "the connection dropped mid-transfer"
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS failed"
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, requests.ConnectionError):
        if _inner(error, ReadTimeoutError) is not None:  # a body read that timed out is wrapped so
            return "timed out"
        # urllib3 says ``ProtocolError`` once a connection was made: the server (or a proxy)
        # hung up on the request, which is not the same fix as a registry that is not there.
        dropped = _inner(error, ProtocolError)
        if dropped is not None:
            if _inner(dropped, http.client.RemoteDisconnected) is not None:
                return "the connection was closed without an answer"
            return "the connection was reset"
        return "could not connect"
    return "request failed"


def _inner(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first error of type ``kind`` in ``error``'s chain (causes, and wrapped arguments)."""
    seen: BaseException | None = error
    for _ in range(20):  # chains are short; the bound only guards against a cycle
        if seen is None or isinstance(seen, kind):
            return seen
        inner = seen.__cause__ or seen.__context__
        if inner is None and seen.args and isinstance(seen.args[-1], BaseException):
            inner = seen.args[-1]  # requests and urllib3 wrap the inner error as an argument
        seen = inner
    return None


def root_cause(error: BaseException) -> str:
    """The innermost reason (``[Errno 111] Connection refused``), not urllib3's wrapper chain."""
    seen: BaseException = error
    for _ in range(20):  # chains are short; the bound only guards against a cycle
        inner = seen.__cause__ or seen.__context__
        if inner is None and seen.args and isinstance(seen.args[0], BaseException):
            inner = seen.args[0]  # requests wraps urllib3's error as an argument, not a cause
        if inner is None or inner is seen:
            break
        seen = inner
    text = str(seen).strip()
    # urllib3 prefixes the connection object's repr (``<...HTTPConnection object at 0x..>: ``).
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    return text or type(seen).__name__


class TransportError(LayerplanError):
    """No usable answer to ``method url`` after ``attempts`` tries; ``cause`` is the last failure.

    ``url`` is shown without credentials, query or fragment (a signed redirect's query
    holds secrets).
    """

    def __init__(self, *, method: str, url: str, cause: BaseException, attempts: int) -> None:
        self.method = method
        self.url = redact(urlunsplit(urlsplit(url)._replace(query="", fragment="")))
        self.cause = cause
        self.attempts = attempts
        super().__init__(f"{method} {self.url}: {self.summary}")

    @property
    def reason(self) -> str:
        """``could not connect``, ``the connection was reset``, ``timed out``, ``TLS failed``,
        ``the connection dropped mid-transfer``..."""
        return reason(self.cause)

    @property
    def summary(self) -> str:
        """Reason, root cause and tries: ``could not connect ([Errno 111] Connection refused), after 3 tries``."""
        after = f", after {self.attempts} tries" if self.attempts > 1 else ""
        return f"{self.reason} ({root_cause(self.cause)}){after}"
