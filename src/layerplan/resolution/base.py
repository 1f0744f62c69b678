"""The base image: opened from a registry (layers fetched lazily into the cache) or from
a local source, and what it runs (Python, architecture, C library) read from its files
once per base digest. The resolution step turns those facts into the target."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from layerplan.cache.store import BlobCache, Store
from layerplan.errors import ConfigError
from layerplan.image.index import Platform
from layerplan.image.model import Image, Layer
from layerplan.image.platform import DetectedPlatform, detect_platform
from layerplan.oci.descriptor import Descriptor
from layerplan.oci.digest import Digest
from layerplan.oci.reference import ImageReference
from layerplan.transports.sources import is_local_source, open_base
from layerplan.registry import RegistryClient

__all__ = ["BaseImage", "ClientPool", "base_platform", "open_base_image"]

_PLATFORM_CACHE_FORMAT = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class BaseImage:
    """The base image, with where it came from (for annotations and cross-repo mounts)."""

    image: Image
    name: str
    """As the user wrote it (``python:3.12-slim``)."""
    reference: ImageReference | None
    """The registry reference, pinned to the digest used; ``None`` for local sources."""
    pinned: bool
    """True when the user gave a digest (``@sha256:...``): the build cannot drift."""
    platform: DetectedPlatform
    """What the base runs, read from its files (cached per digest)."""
    symlinks: Mapping[str, str]
    """Paths that are symlinks in the base (``/lib`` -> ``usr/lib``): layers must not write them."""


class ClientPool:
    """One ``RegistryClient`` per registry host, sharing auth tokens within a build."""

    def __init__(self, insecure_hosts: tuple[str, ...] = ()) -> None:
        self.insecure_hosts = insecure_hosts
        self._clients: dict[str, RegistryClient] = {}

    def get(self, registry: str) -> RegistryClient:
        """The client for ``registry`` (``host[:port]``)."""
        if registry not in self._clients:
            self._clients[registry] = RegistryClient(registry, insecure_hosts=self.insecure_hosts)
        return self._clients[registry]


@contextlib.contextmanager
def open_base_image(
    spec: str, platform: Platform, cache: BlobCache, clients: ClientPool, *, key: str = "base"
) -> Iterator[BaseImage]:
    """Yield the base image named by ``spec`` for ``platform``, with what it runs.

    Registry layers are not downloaded to open it: each opens through the blob cache,
    fetched on first use (the platform scan, once per base digest), so a push to the
    same registry never downloads them.
    """
    with _open_image(spec, platform, cache, clients, key) as (image, reference, pinned):
        detected, symlinks = base_platform(image, cache)
        yield BaseImage(
            image=image, name=spec, reference=reference, pinned=pinned, platform=detected, symlinks=symlinks
        )


@contextlib.contextmanager
def _open_image(
    spec: str, platform: Platform, cache: BlobCache, clients: ClientPool, key: str
) -> Iterator[tuple[Image, ImageReference | None, bool]]:
    if is_local_source(spec):
        with open_base(spec, platform=platform) as image:
            yield image, None, True
        return
    try:
        reference = ImageReference.parse(spec)
    except ValueError as exc:
        raise ConfigError(
            f"invalid base image {spec!r}: {exc}",
            key=key,
            hint="a registry reference (python:3.12-slim, registry.example/app/python:3.12), "
            "or docker://NAME, oci-layout:DIR, oci-archive:FILE, docker-archive:FILE",
        ) from None
    client = clients.get(reference.registry)
    fetched = client.get_image_manifest(reference.repository, reference.reference, platform=str(platform))
    manifest = fetched.json()
    config_digest = Digest.parse(manifest["config"]["digest"])
    config = client.read_blob(reference.repository, config_digest)
    descriptors = [Descriptor.from_json(layer) for layer in manifest.get("layers", [])]
    diff_ids = json.loads(config).get("rootfs", {}).get("diff_ids", [])
    layers = tuple(
        Layer(
            descriptor=descriptor,
            diff_id=Digest.parse(diff_id),
            opener=_cached_opener(cache, client, reference.repository, descriptor),
        )
        for descriptor, diff_id in zip(descriptors, diff_ids, strict=False)
    )
    image = Image(manifest=fetched.data, config=config, layers=layers)
    yield image, reference.with_digest(fetched.digest), reference.digest is not None


def _cached_opener(
    cache: BlobCache, client: RegistryClient, repository: str, descriptor: Descriptor
) -> Callable[[], IO[bytes]]:
    def opener() -> IO[bytes]:
        if not cache.has(descriptor.digest):
            with tempfile.TemporaryDirectory(prefix="layerplan-base-") as tmp:
                part = Path(tmp) / "blob"
                client.get_blob(repository, descriptor.digest, part, size=descriptor.size)
                with part.open("rb") as stream:
                    cache.put_stream(stream, expected=descriptor.digest)
        return cache.open(descriptor.digest)

    return opener


def base_platform(image: Image, cache: BlobCache) -> tuple[DetectedPlatform, Mapping[str, str]]:
    """The platform and symlinks of the base, read from its files once per digest.

    Reading means downloading and scanning every base layer, so the answer is kept in
    the cache (the store's ``platforms`` records, by digest) and later builds reuse it.
    """
    records = Store(cache.root).platforms
    known = records.get(image.digest.hex)
    if known is not None:
        try:
            data = json.loads(known)
            if data.get("format") == _PLATFORM_CACHE_FORMAT:
                return DetectedPlatform(**data["platform"]), dict(data["symlinks"])
        except (ValueError, TypeError, KeyError):
            pass  # unreadable record: detect again and overwrite it
    platform, symlinks = detect_platform(image)
    payload = {
        "format": _PLATFORM_CACHE_FORMAT,
        "platform": {name: getattr(platform, name) for name in DetectedPlatform.__dataclass_fields__},
        "symlinks": dict(symlinks),
    }
    records.put(image.digest.hex, json.dumps(payload, sort_keys=True).encode())
    return platform, symlinks
