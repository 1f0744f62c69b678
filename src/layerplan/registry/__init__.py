"""A small OCI distribution client: pull manifests and blobs, push images.

``RegistryClient`` speaks to one registry (auth, retries, verification); its retry
policy is ``layerplan.http.RetryPolicy``, shared with the package index fetcher;
``push_image`` pushes an image through it, uploading only what the registry lacks and
cannot mount from a repository it or ``KnownLocations`` names.
"""

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
