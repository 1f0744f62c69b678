"""Where registry credentials come from: ``~/.docker/config.json`` and credential helpers.

The lookup follows the Docker CLI: ``credHelpers[registry]`` first, then the
``credsStore`` helper, then the file's own ``auths`` entry (base64 ``user:password`` in
``auth``, or ``username``/``password``, or an ``identitytoken``). ``DOCKER_CONFIG``
names another directory holding ``config.json``, as for the Docker CLI.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from layerplan.registry.errors import RegistryAuthError

__all__ = [
    "Credentials",
    "DockerConfigKeychain",
    "Keychain",
    "StaticKeychain",
    "docker_config_path",
]

# Docker Hub's credentials are stored under its old v1 address.
_DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")
_HELPER_TIMEOUT = 30.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Credentials:
    """What to authenticate with; all ``None`` means anonymous."""

    username: str | None = None
    """User name for basic auth or for the token endpoint."""
    password: str | None = None
    """Password (or personal access token) that goes with ``username``."""
    identity_token: str | None = None
    """An OAuth2 refresh token (``identitytoken`` in config.json, ``<token>`` from a helper)."""

    @property
    def anonymous(self) -> bool:
        """True when there is nothing to authenticate with."""
        return not (self.username or self.password or self.identity_token)

    def __repr__(self) -> str:  # never print secrets
        return f"Credentials(username={self.username!r}, password={'***' if self.password else None})"


class Keychain(Protocol):
    """Finds the credentials for a registry host (``host[:port]``)."""

    def credentials_for(self, registry: str) -> Credentials | None:
        """Credentials for ``registry``, or ``None`` for anonymous access."""


@dataclass(frozen=True, slots=True)
class StaticKeychain:
    """Fixed credentials per registry host, e.g. from command-line options."""

    entries: Mapping[str, Credentials]

    def credentials_for(self, registry: str) -> Credentials | None:
        return self.entries.get(registry)


def docker_config_path() -> Path:
    """The ``config.json`` the Docker CLI would read (``$DOCKER_CONFIG`` or ``~/.docker``)."""
    directory = os.environ.get("DOCKER_CONFIG")
    return Path(directory) / "config.json" if directory else Path.home() / ".docker" / "config.json"


def _normalise_key(key: str) -> str:
    """``https://host:port/v1/`` -> ``host:port``, as the Docker CLI matches ``auths`` keys."""
    for prefix in ("https://", "http://"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    return key.split("/", 1)[0]


def _server_keys(registry: str) -> tuple[str, ...]:
    return _DOCKER_HUB_KEYS if registry in _DOCKER_HUB_KEYS else (registry,)


class DockerConfigKeychain:
    """Reads credentials the way ``docker login`` stored them.

    The file is read on first use (and again if it changed), so creating the client
    costs nothing when the registry needs no credentials.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        """The config.json this keychain reads."""
        return self._path if self._path is not None else docker_config_path()

    def _load(self) -> dict[str, Any]:
        path = self.path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise RegistryAuthError(
                f"cannot read {path}: {error}", hint="fix or remove the file (it is written by `docker login`)"
            ) from error
        if not isinstance(data, dict):
            raise RegistryAuthError(f"{path} is not a JSON object", hint="fix or remove the file")
        return data

    def credentials_for(self, registry: str) -> Credentials | None:
        config = self._load()
        keys = _server_keys(registry)
        helpers = config.get("credHelpers") or {}
        for key in keys:
            if isinstance(helpers, dict) and helpers.get(key):
                return _run_helper(str(helpers[key]), key, self.path)
        store = config.get("credsStore")
        if store:
            found = _run_helper(str(store), keys[0], self.path)
            if found is not None:
                return found
        auths = config.get("auths") or {}
        if isinstance(auths, dict):
            for raw_key, entry in auths.items():
                if _normalise_key(str(raw_key)) in {_normalise_key(k) for k in keys} and isinstance(entry, dict):
                    return _from_auth_entry(entry, str(raw_key), self.path)
        return None


def _from_auth_entry(entry: Mapping[str, Any], key: str, path: Path) -> Credentials | None:
    username = entry.get("username")
    password = entry.get("password")
    encoded = entry.get("auth")
    if encoded:
        try:
            decoded = base64.b64decode(str(encoded), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise RegistryAuthError(
                f"{path}: `auths.{key}.auth` is not base64 of user:password",
                hint=f"run `docker login {key}` again",
            ) from error
        username, sep, password = decoded.partition(":")
        if not sep:
            raise RegistryAuthError(
                f"{path}: `auths.{key}.auth` has no ':' between user and password",
                hint=f"run `docker login {key}` again",
            )
    token = entry.get("identitytoken")
    found = Credentials(
        username=str(username) if username else None,
        password=str(password) if password else None,
        identity_token=str(token) if token else None,
    )
    return None if found.anonymous else found


def _run_helper(name: str, server: str, path: Path) -> Credentials | None:
    """``docker-credential-NAME get`` with ``server`` on stdin; ``None`` when it has none."""
    program = f"docker-credential-{name}"
    try:
        result = subprocess.run(
            [program, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=_HELPER_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as error:
        raise RegistryAuthError(
            f"credential helper {program} (named in {path}) is not on PATH",
            registry=server,
            hint=f"install {program} or remove it from {path}",
        ) from error
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RegistryAuthError(f"credential helper {program} failed: {error}", registry=server) from error
    output = result.stdout.decode("utf-8", "replace").strip()
    if result.returncode != 0:
        # The protocol's "no credentials" answer is this text, on stdout or stderr.
        said = f"{output}\n{result.stderr.decode('utf-8', 'replace')}".lower()
        if "credentials not found" in said:
            return None
        # Never quote what a failing helper printed: a helper that half-worked may have
        # written the secret (or a token in its error) before exiting non-zero.
        raise RegistryAuthError(
            f"credential helper {program} failed for {server} (exit {result.returncode}; its output is hidden, "
            "as it may hold the secret)",
            registry=server,
            hint=f"run `echo {server} | {program} get` yourself to see what it says",
        )
    try:
        data = json.loads(output)
        username, secret = str(data["Username"]), str(data["Secret"])
    except (ValueError, KeyError, TypeError) as error:
        raise RegistryAuthError(
            f"credential helper {program} printed no {{Username, Secret}} JSON for {server}", registry=server
        ) from error
    if username == "<token>":  # the helper protocol's marker for an identity token
        return Credentials(identity_token=secret)
    return Credentials(username=username, password=secret)
