"""Answering a registry's ``401``: basic auth, or a bearer token from its token endpoint.

A registry says how it wants to be authenticated in ``WWW-Authenticate``:
``Basic realm="..."`` or ``Bearer realm="https://auth/token",service="registry"``. For a
bearer challenge the client asks ``realm`` for a token with ``service`` and the scopes it
needs (``repository:NAME:pull,push``), sending its credentials as basic auth (Docker's
token spec), or an identity token as an OAuth2 refresh token. Tokens are cached per
scope set until shortly before they expire. Thread-safe: one authenticator serves the
parallel blob uploads of a push.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from layerplan.registry.credentials import Credentials
from layerplan.registry.errors import RegistryAuthError, RegistryConnectionError, login_hint

__all__ = ["Authenticator", "Challenge", "parse_challenge", "scope"]

_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')
_EXPIRY_MARGIN = 10.0  # seconds: renew a token this long before it expires
_DEFAULT_TOKEN_LIFETIME = 60.0  # the token spec's default for a missing expires_in


def scope(repository: str, *actions: str) -> str:
    """``repository:NAME:a,b`` as the token spec writes a scope."""
    return f"repository:{repository}:{','.join(actions)}"


@dataclass(frozen=True, slots=True)
class Challenge:
    """One parsed ``WWW-Authenticate`` challenge; ``scheme`` is lower case."""

    scheme: str
    params: Mapping[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """Parse ``Scheme k="v", k2=v2``; ``None`` for an empty or unreadable header."""
    header = header.strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if not match or match.end() == position:
            break
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
        position = match.end()
    return Challenge(scheme=scheme.lower(), params=params)


@dataclass(frozen=True, slots=True)
class _Token:
    header: str
    expires: float


Send = Callable[..., requests.Response]
"""``send(method, url, **requests_kwargs)`` without registry auth; raises RegistryConnectionError."""


class Authenticator:
    """Builds the ``Authorization`` header for one registry, learning from its challenges."""

    def __init__(self, registry: str, credentials: Callable[[], Credentials | None], send: Send) -> None:
        """``credentials`` is called at most once, on the first challenge (a helper may be slow)."""
        self._registry = registry
        self._credentials_source = credentials
        self._credentials: Credentials | None = None
        self._credentials_loaded = False
        self._send = send
        self._lock = threading.Lock()
        self._creds_lock = threading.Lock()
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, ...], _Token] = {}

    def _creds(self) -> Credentials | None:
        with self._creds_lock:  # a helper is run once, however many threads ask
            if not self._credentials_loaded:
                self._credentials = self._credentials_source()
                self._credentials_loaded = True
            return self._credentials

    def header(self, scopes: Sequence[str]) -> str | None:
        """The header to send before any challenge of this request (learned from earlier ones)."""
        with self._lock:
            challenge = self._challenge
            if challenge is None:
                return None
            if challenge.scheme == "basic":
                return self._basic_header()
            token = self._tokens.get(tuple(sorted(scopes)))
            if token is not None and token.expires > time.monotonic():
                return token.header
        if challenge.scheme == "bearer":
            return self._fetch_token(challenge, scopes)
        return None

    def respond(self, response: requests.Response, scopes: Sequence[str], sent: str | None) -> str | None:
        """A new header answering ``response``'s 401, or ``None`` when retrying cannot help.

        ``sent`` is the header the rejected request carried: when the same header would
        be sent again (wrong password), the answer is ``None``.
        """
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            return None
        with self._lock:
            self._challenge = challenge
            self._tokens.pop(tuple(sorted(scopes)), None)
            if challenge.scheme == "basic":
                header = self._basic_header()
                return header if header and header != sent else None
        header = self._fetch_token(challenge, scopes)
        return header if header != sent else None

    def _basic_header(self) -> str | None:
        creds = self._creds()
        if creds is None or creds.username is None:
            return None
        pair = f"{creds.username}:{creds.password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def _fetch_token(self, challenge: Challenge, scopes: Sequence[str]) -> str:
        realm = challenge.params.get("realm")
        if not realm:
            raise RegistryAuthError(
                f"{self._registry} asked for a bearer token but named no realm", registry=self._registry
            )
        service = challenge.params.get("service")
        creds = self._creds()
        params: dict[str, Any] = {"scope": list(scopes)}
        if service:
            params["service"] = service
        try:
            if creds is not None and creds.identity_token:
                form = {
                    "grant_type": "refresh_token",
                    "refresh_token": creds.identity_token,
                    "client_id": "layerplan",
                    "scope": " ".join(scopes),
                }
                if service:
                    form["service"] = service
                response = self._send("POST", realm, data=form)
            else:
                auth = (creds.username, creds.password or "") if creds and creds.username else None
                response = self._send("GET", realm, params=params, auth=auth)
        except RegistryConnectionError as error:
            error.message = f"token endpoint {realm} of {self._registry}: {error.message}"
            raise
        if response.status_code != 200:
            raise RegistryAuthError(
                f"token endpoint {realm} refused a token for {' '.join(scopes)} (HTTP {response.status_code})",
                status=response.status_code,
                registry=self._registry,
                hint=login_hint(self._registry) if response.status_code in (401, 403) else None,
            )
        try:
            body = response.json()
            token = str(body.get("token") or body.get("access_token"))
            lifetime = float(body.get("expires_in") or _DEFAULT_TOKEN_LIFETIME)
        except (ValueError, AttributeError, TypeError) as error:
            raise RegistryAuthError(
                f"token endpoint {realm} answered without a token", registry=self._registry
            ) from error
        header = f"Bearer {token}"
        with self._lock:
            self._tokens[tuple(sorted(scopes))] = _Token(
                header=header, expires=time.monotonic() + max(lifetime - _EXPIRY_MARGIN, 0.0)
            )
        return header

