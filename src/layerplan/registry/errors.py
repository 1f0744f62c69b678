"""Registry errors: the distribution spec's error JSON, turned into one line with a hint.

A registry answers a failed request with ``{"errors": [{"code", "message", "detail"}]}``
(OCI distribution spec, "Error Codes"). ``error_from_response`` reads that (or just the
status when there is no body, as for HEAD) into a ``RegistryError`` that says what was
being done, what the registry said, and how to fix it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from layerplan.errors import LayerplanError

if TYPE_CHECKING:
    import requests

__all__ = [
    "BlobVerificationError",
    "RegistryAuthError",
    "RegistryConnectionError",
    "RegistryError",
    "RegistryNotFoundError",
    "error_from_response",
    "login_hint",
]


class RegistryError(LayerplanError):
    """A registry refused a request, answered nonsense, or could not be reached.

    ``status`` is the HTTP status (``None`` when no answer came), ``code`` the first
    error code of the registry's error JSON (``BLOB_UNKNOWN``, ``DENIED``, ...),
    ``detail`` its ``detail`` value, ``registry`` the host it came from.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: Any = None,
        registry: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
        self.detail = detail
        self.registry = registry

    @property
    def temporary(self) -> bool:
        """True when trying again later may succeed (5xx, 429; no answer, for the subclass)."""
        return self.status is not None and (self.status == 429 or self.status >= 500)


class RegistryAuthError(RegistryError):
    """Credentials are missing, wrong, or lack access (401/403, token endpoint failed)."""


class RegistryConnectionError(RegistryError):
    """No HTTP answer: connection refused, reset or closed, DNS failure, TLS failure, timeout.

    ``method`` is the request that got none, ``reason`` the kind of failure (``could
    not connect``, ``the connection was reset``, ...), ``cause`` the innermost error in
    words, ``tries`` how often it was sent.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        reason: str | None = None,
        cause: str | None = None,
        tries: int = 1,
        registry: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, registry=registry, hint=hint)
        self.method = method
        self.reason = reason
        self.cause = cause
        self.tries = tries

    @property
    def temporary(self) -> bool:
        return True


class RegistryNotFoundError(RegistryError):
    """The repository, manifest or blob does not exist (404)."""


class BlobVerificationError(RegistryError):
    """Content did not match its digest or size (downloaded or about to be uploaded)."""


def login_hint(registry: str) -> str:
    """How to fix missing or wrong credentials for ``registry``."""
    from layerplan.registry.credentials import docker_config_path  # credentials imports this module

    return f"check credentials in {docker_config_path()} or run `docker login {registry}`"


def _hint(status: int, registry: str, code: str | None) -> str | None:
    if status == 401:
        return login_hint(registry)
    if status == 403 or code == "DENIED":
        return f"the credentials for {registry} lack access to this repository"
    if status == 429:
        return "the registry rate-limits these requests; wait and try again"
    if status >= 500:
        return f"{registry} failed on its side; try again later"
    return None


def _parse_errors(response: requests.Response) -> tuple[str | None, str | None, Any]:
    """First (code, message, detail) of the registry's error JSON, or Nones."""
    try:
        body: Any = json.loads(response.content or b"null")
    except (ValueError, RuntimeError):
        return None, None, None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return None, None, None
    first = errors[0]
    code = first.get("code")
    message = first.get("message")
    return (str(code) if code else None, str(message) if message else None, first.get("detail"))


def error_from_response(response: requests.Response, *, action: str, registry: str) -> RegistryError:
    """The ``RegistryError`` (narrowest subclass) for a failed ``response`` to ``action``.

    ``action`` says what was being done, e.g. ``"push blob sha256:ab12… to app"``.
    """
    status = response.status_code
    code, message, detail = _parse_errors(response)
    said = f"{code}: {message}" if code and message else (code or message or response.reason or "no reason given")
    text = f"{action}: {registry} answered HTTP {status} ({said})"
    cls: type[RegistryError] = RegistryError
    if status in (401, 403):
        cls = RegistryAuthError
    elif status == 404:
        cls = RegistryNotFoundError
    return cls(text, status=status, code=code, detail=detail, registry=registry, hint=_hint(status, registry, code))
