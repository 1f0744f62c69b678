"""A small OCI distribution client: pull manifests and blobs, push images.

``RegistryClient`` speaks to one registry (auth, retries, verification); its retry
policy is ``layerplan.http.RetryPolicy``, shared with the package index fetcher;
``push_image`` pushes an image through it, uploading only what the registry lacks and
cannot mount from a repository it or ``KnownLocations`` names.

The names are loaded on first use (PEP 562): reading a manifest does not load the
push.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from layerplan.registry.client import RegistryClient
    from layerplan.registry.credentials import Credentials, DockerConfigKeychain, Keychain, StaticKeychain
    from layerplan.registry.errors import (
        BlobVerificationError,
        RegistryAuthError,
        RegistryConnectionError,
        RegistryError,
        RegistryNotFoundError,
    )
    from layerplan.registry.manifest import FetchedManifest, Platform
    from layerplan.registry.mounts import KnownLocations
    from layerplan.registry.push import BlobReport, BlobStatus, PushReport, push_image

_MODULES = {
    "RegistryClient": "client",
    "Credentials": "credentials",
    "DockerConfigKeychain": "credentials",
    "Keychain": "credentials",
    "StaticKeychain": "credentials",
    "BlobVerificationError": "errors",
    "RegistryAuthError": "errors",
    "RegistryConnectionError": "errors",
    "RegistryError": "errors",
    "RegistryNotFoundError": "errors",
    "FetchedManifest": "manifest",
    "Platform": "manifest",
    "KnownLocations": "mounts",
    "BlobReport": "push",
    "BlobStatus": "push",
    "PushReport": "push",
    "push_image": "push",
}

__all__ = [
    "BlobReport",
    "BlobStatus",
    "BlobVerificationError",
    "Credentials",
    "DockerConfigKeychain",
    "FetchedManifest",
    "Keychain",
    "KnownLocations",
    "Platform",
    "PushReport",
    "RegistryAuthError",
    "RegistryClient",
    "RegistryConnectionError",
    "RegistryError",
    "RegistryNotFoundError",
    "StaticKeychain",
    "push_image",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
