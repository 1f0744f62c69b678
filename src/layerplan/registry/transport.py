"""HTTP to one registry: scheme and authentication, over layerplan.http's session and retries.

HTTPS by default; plain HTTP only for a loopback registry or one the user named as
insecure (like Docker's ``--insecure-registry``). Every request runs in
``layerplan.http.exchange``, so a refused or dropped connection, a timeout, a 5xx or 429,
and a body cut short are retried under the one ``RetryPolicy``. A 401 is answered once
by the ``Authenticator`` within the same attempt, and the request sent again. Each
request is watched (``layerplan.http.Watchdog``): one that makes no progress for a while
is reported as ``waiting for REGISTRY (what, N s)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests

from layerplan.http import RetryPolicy, Timeouts, TransportError, exchange, new_session, root_cause
from layerplan.http.watchdog import Watchdog, shared_watchdog, track_reads
from layerplan.registry.auth import Authenticator
from layerplan.registry.credentials import Credentials
from layerplan.registry.errors import RegistryConnectionError
from layerplan.urls import is_loopback_host

__all__ = ["Transport", "api_host", "describe", "is_loopback", "scheme_for"]

T = TypeVar("T")

# Longer than the session default: a registry may think for minutes before it answers the
# commit of a large upload (it verifies the digest of the whole blob first).
_TIMEOUTS = Timeouts(read=300.0)


def is_loopback(registry: str) -> bool:
    """True for ``localhost``, ``127.x.y.z`` and ``[::1]``, with or without a port."""
    return is_loopback_host(registry)


# Docker Hub's images are named ``docker.io/...``, but its registry API is served by
# another host (what the Docker CLI and go-containerregistry call it too).
_API_HOSTS = {"docker.io": "registry-1.docker.io", "index.docker.io": "registry-1.docker.io"}


def api_host(registry: str) -> str:
    """The host that serves ``registry``'s ``/v2/`` API: itself, except for Docker Hub."""
    return _API_HOSTS.get(registry, registry)


def scheme_for(registry: str, insecure_hosts: Collection[str] = ()) -> str:
    """``http`` for loopback or explicitly insecure registries, else ``https``."""
    return "http" if is_loopback(registry) or registry in insecure_hosts else "https"


def _keep(response: requests.Response) -> requests.Response:
    return response


_API_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>manifests|blobs/uploads|blobs)/(?P<ref>[^/]*)$")


def describe(method: str, url: str) -> str:
    """A request in words for messages: ``GET manifest app:v1``, ``PUT blob ab12cd34ef56``,
    ``PATCH upload to app``; the path for anything else."""
    path = urlsplit(url).path
    match = _API_PATH.match(path)
    if match is None:
        return f"{method} {path}"
    name, kind, ref = match["name"], match["kind"], match["ref"]
    if kind == "blobs/uploads":
        return f"{method} upload to {name}"
    short = ref.split(":", 1)[1][:12] if ":" in ref else ref
    if kind == "blobs":
        return f"{method} blob {short}"
    return f"{method} manifest {name}{'@' if ':' in ref else ':'}{short}"


class Transport:
    """Sends requests to one registry (``host[:port]``) and hands over their answers.

    Only a missing answer becomes an exception (``RegistryConnectionError``); every HTTP
    status is handed over for the caller to judge, after retries of the temporary ones.
    ``session`` defaults to ``layerplan.http.new_session()`` with a long read timeout.
    """

    def __init__(
        self,
        registry: str,
        *,
        insecure_hosts: Collection[str] = (),
        credentials: Callable[[], Credentials | None] | Credentials | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        watchdog: Watchdog | None = None,
    ) -> None:
        """``credentials`` is a zero-argument callable returning ``Credentials | None``.
        ``watchdog`` reports requests that stall (default: one shared by the process,
        printing on stderr)."""
        self.registry = registry
        self.base_url = f"{scheme_for(registry, insecure_hosts)}://{api_host(registry)}"
        self.retry = retry or RetryPolicy()
        self.session = session or new_session(timeouts=_TIMEOUTS)
        self.watchdog = watchdog or shared_watchdog()
        fixed = credentials
        source = fixed if callable(fixed) else (lambda: fixed)
        self.auth = Authenticator(registry, source, self._send_unauthenticated)

    def url(self, path_or_url: str) -> str:
        """An absolute URL for a ``/v2/...`` path or a (possibly relative) ``Location``."""
        return urljoin(self.base_url + "/", path_or_url)

    def exchange(
        self,
        method: str,
        path_or_url: str,
        handle: Callable[[requests.Response], T],
        *,
        scopes: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream: bool = False,
        retry: bool = True,
        what: str | None = None,
    ) -> T:
        """Send with auth and return ``handle(response)``; the request and the reading of
        its answer are retried as one (see ``layerplan.http.exchange``), ``handle`` may
        raise ``ReadAgain``. ``retry=False`` for requests that must not repeat. ``what``
        names the request when it stalls (default: ``describe(method, url)``)."""
        url = self.url(path_or_url)

        with self.watchdog.watch(self.registry, what or describe(method, url)) as watch:

            def send() -> requests.Response:
                watch.moved()  # a new try starts its own wait
                response = self._send_authenticated(
                    method, url, scopes, headers, params=params, data=body, stream=stream
                )
                watch.moved()
                if stream:
                    track_reads(response, watch)
                return response

            policy = self.retry if retry else self.retry.once()
            try:
                return exchange(send, handle, method=method, url=url, policy=policy)
            except TransportError as error:
                raise self._connection_error(error) from error

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        scopes: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        retry: bool = True,
        what: str | None = None,
    ) -> requests.Response:
        """Send with auth and retries and return the response, its (small) body read."""
        return self.exchange(
            method, path_or_url, _keep, scopes=scopes, headers=headers, params=params, body=body, retry=retry,
            what=what,
        )

    def _send_authenticated(
        self, method: str, url: str, scopes: Sequence[str], headers: Mapping[str, str] | None, **kwargs: Any
    ) -> requests.Response:
        """One try: send, and when the registry answers 401, answer its challenge and send again."""
        all_headers = dict(headers or {})
        sent = self.auth.header(scopes)
        if sent:
            all_headers["Authorization"] = sent
        response = self.session.request(method, url, headers=all_headers, **kwargs)
        if response.status_code == 401:
            try:
                answer = self.auth.respond(response, scopes, sent)
            except BaseException:  # the token endpoint failed: that error is the one to report
                response.close()
                raise
            if answer is not None:
                response.close()
                all_headers["Authorization"] = answer
                response = self.session.request(method, url, headers=all_headers, **kwargs)
        return response

    def _send_unauthenticated(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """For the token endpoint: retried, without registry auth; the body is read."""
        try:
            return exchange(
                lambda: self.session.request(method, url, **kwargs), _keep, method=method, url=url, policy=self.retry
            )
        except TransportError as error:
            raise self._connection_error(error) from error

    def _connection_error(self, error: TransportError) -> RegistryConnectionError:
        cause = error.cause
        dropped = error.reason.startswith("the connection was")  # reset or closed after connecting
        if isinstance(cause, requests.exceptions.SSLError):
            hint = (
                f"if {self.registry} serves plain HTTP or a self-signed certificate, "
                "mark it insecure (--insecure-registry)"
            )
        elif isinstance(cause, requests.Timeout):
            hint = f"is the registry at {self.registry} up and reachable?"
        elif isinstance(cause, requests.ConnectionError) and not dropped:
            hint = f"is the registry running at {self.registry}?"
            if self.base_url.startswith("https:"):
                hint += " for plain HTTP use --insecure-registry"
        else:  # connections dropped, answers cut short, every time
            hint = f"the connection to {self.registry} keeps breaking off; check the network or a proxy in between"
        return RegistryConnectionError(
            error.message, registry=self.registry, hint=hint, method=error.method, reason=error.reason,
            cause=root_cause(cause), tries=error.attempts,
        )
