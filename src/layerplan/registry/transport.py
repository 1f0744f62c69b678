"""HTTP to one registry: scheme, retries with backoff, and authentication.

HTTPS by default; plain HTTP only for a loopback registry or one the user named as
insecure (like Docker's ``--insecure-registry``). A request that gets no answer, a 5xx
or a 429 is tried again after an exponentially growing pause, a bounded number of
times. A 401 is answered once by the ``Authenticator`` and the request sent again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests

from layerplan.registry.auth import Authenticator
from layerplan.registry.credentials import Credentials
from layerplan.registry.errors import RegistryConnectionError

__all__ = ["RetryPolicy", "Transport", "is_loopback", "scheme_for"]

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_USER_AGENT = "layerplan (+https://pypi.org/project/layerplan/)"


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """How often and how patiently to try a request again."""

    attempts: int = 4
    """Total tries of one request (1 = never retry)."""
    backoff: float = 0.5
    """Pause in seconds before the second try; doubled before each next one."""
    max_backoff: float = 8.0
    """Longest single pause, also the cap on a registry's ``Retry-After``."""

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (0-based)."""
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after), self.max_backoff)
        base = min(self.backoff * 2.0**attempt, self.max_backoff)
        return base * (0.9 + 0.2 * random.random())  # jitter spreads parallel retries


def is_loopback(registry: str) -> bool:
    """True for ``localhost``, ``127.x.y.z`` and ``[::1]``, with or without a port."""
    host = registry.rsplit("]", 1)[0] + "]" if registry.startswith("[") else registry.rsplit(":", 1)[0]
    return host in ("localhost", "[::1]") or host.startswith("127.")


def scheme_for(registry: str, insecure_hosts: Collection[str] = ()) -> str:
    """``http`` for loopback or explicitly insecure registries, else ``https``."""
    return "http" if is_loopback(registry) or registry in insecure_hosts else "https"


class Transport:
    """Sends requests to one registry (``host[:port]``) and returns their responses.

    Only a missing answer becomes an exception (``RegistryConnectionError``); every HTTP
    status is returned for the caller to judge, after retries of the temporary ones.
    """

    def __init__(
        self,
        registry: str,
        *,
        insecure_hosts: Collection[str] = (),
        credentials: Callable[[], Credentials | None] | Credentials | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (10.0, 300.0),
    ) -> None:
        """``credentials`` is a zero-argument callable returning ``Credentials | None``."""
        self.registry = registry
        self.base_url = f"{scheme_for(registry, insecure_hosts)}://{registry}"
        self.retry = retry or RetryPolicy()
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = _USER_AGENT
        self.session = session
        self.timeout = timeout
        fixed = credentials
        source = fixed if callable(fixed) else (lambda: fixed)
        self.auth = Authenticator(registry, source, self._send_raw)

    def url(self, path_or_url: str) -> str:
        """An absolute URL for a ``/v2/...`` path or a (possibly relative) ``Location``."""
        return urljoin(self.base_url + "/", path_or_url)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        scopes: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream: bool = False,
        retry: bool = True,
    ) -> requests.Response:
        """Send with auth and retries; ``retry=False`` for requests that must not repeat."""
        url = self.url(path_or_url)
        all_headers = dict(headers or {})
        auth_header = self.auth.header(scopes)
        if auth_header:
            all_headers["Authorization"] = auth_header
        send = self._send_raw if retry else self._send_once
        response = send(method, url, headers=all_headers, params=params, data=body, stream=stream)
        if response.status_code == 401:
            new_header = self.auth.respond(response, scopes, auth_header)
            if new_header is not None:
                response.close()
                all_headers["Authorization"] = new_header
                response = send(method, url, headers=all_headers, params=params, data=body, stream=stream)
        return response

    def _send_once(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise self._connection_error(url, error, 1) from error

    def _send_raw(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One request with retries on no answer, 5xx and 429; no registry auth added."""
        attempts = max(self.retry.attempts, 1)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as error:
                if last or not _transient(error):
                    raise self._connection_error(url, error, attempt + 1) from error
                time.sleep(self.retry.delay(attempt))
                continue
            if response.status_code not in _RETRY_STATUSES or last:
                return response
            retry_after = response.headers.get("Retry-After")
            response.close()
            time.sleep(self.retry.delay(attempt, retry_after))
        raise AssertionError("unreachable")  # the loop returns or raises on its last try

    def _connection_error(self, url: str, error: requests.RequestException, tries: int) -> RegistryConnectionError:
        base = url.split("?", 1)[0]
        after = f" after {tries} tries" if tries > 1 else ""
        if isinstance(error, requests.exceptions.SSLError):
            reason, hint = "TLS failed", (
                f"if {self.registry} serves plain HTTP or a self-signed certificate, "
                "mark it insecure (--insecure-registry)"
            )
        elif isinstance(error, requests.Timeout):
            reason, hint = "timed out", f"is the registry at {self.registry} up and reachable?"
        else:
            reason = "could not connect"
            hint = f"is the registry running at {self.registry}?"
            if self.base_url.startswith("https:"):
                hint += " for plain HTTP use --insecure-registry"
        return RegistryConnectionError(
            f"{reason} to {base}{after}: {_root_cause(error)}", registry=self.registry, hint=hint
        )


def _transient(error: requests.RequestException) -> bool:
    """Dropped connections and timeouts may pass; TLS and malformed-URL errors will not."""
    if isinstance(error, (requests.exceptions.SSLError, requests.exceptions.InvalidURL)):
        return False
    return isinstance(error, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError))


def _root_cause(error: BaseException) -> str:
    """The innermost reason (``[Errno 111] Connection refused``), not urllib3's wrapper chain."""
    seen: BaseException = error
    while True:
        inner = seen.__cause__ or seen.__context__ or (seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None)
        if not isinstance(inner, BaseException) or inner is seen:
            break
        seen = inner
    text = str(seen)
    # urllib3 prefixes the connection object's repr: keep what follows it.
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return text.strip("() ") or type(seen).__name__
