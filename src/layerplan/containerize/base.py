"""The base image: opened from a registry (layers fetched lazily into the cache) or from
a local source, and the target platform read from its files once per base digest."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from layerplan.cache.atomic import atomic_write
from layerplan.cache.store import BlobCache
from layerplan.errors import ConfigError
from layerplan.image.index import Platform
from layerplan.image.model import Image, Layer
from layerplan.image.platform import DetectedPlatform, detect_platform
from layerplan.oci.descriptor import Descriptor
from layerplan.oci.digest import Digest
from layerplan.oci.reference import ImageReference
from layerplan.transports.sources import is_local_source, open_base
from layerplan.registry import RegistryClient
from layerplan.target import Target

__all__ = ["BaseImage", "ClientPool", "base_platform", "open_base_image", "read_base_target"]

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
def open_base_image(spec: str, platform: Platform, cache: BlobCache, clients: ClientPool) -> Iterator[BaseImage]:
    """Yield the base image named by ``spec`` for ``platform``.

    Registry layers are not downloaded here: each opens through the blob cache, fetched
    on first use, so a push to the same registry never downloads them.
    """
    if is_local_source(spec):
        with open_base(spec, platform=platform) as image:
            yield BaseImage(image=image, name=spec, reference=None, pinned=True)
        return
    try:
        reference = ImageReference.parse(spec)
    except ValueError as exc:
        raise ConfigError(f"invalid base image {spec!r}: {exc}", key="base") from None
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
            origin=reference,
        )
        for descriptor, diff_id in zip(descriptors, diff_ids, strict=False)
    )
    image = Image(manifest=fetched.data, config=config, layers=layers, origin=reference)
    yield BaseImage(
        image=image,
        name=spec,
        reference=reference.with_digest(fetched.digest),
        pinned=reference.digest is not None,
    )


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


def base_platform(base: BaseImage, cache: BlobCache) -> tuple[DetectedPlatform, Mapping[str, str]]:
    """The platform and symlinks of the base, read from its files once per digest.

    Reading means downloading and scanning every base layer, so the answer is kept in
    the cache (``platforms/<digest>.json``) and later builds reuse it.
    """
    record = cache.root / "platforms" / f"{base.image.digest.hex}.json"
    if record.is_file():
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            if data.get("format") == _PLATFORM_CACHE_FORMAT:
                return DetectedPlatform(**data["platform"]), dict(data["symlinks"])
        except (ValueError, TypeError, KeyError):
            pass  # unreadable record: detect again and overwrite it
    platform, symlinks = detect_platform(base.image)
    record.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": _PLATFORM_CACHE_FORMAT,
        "platform": {name: getattr(platform, name) for name in DetectedPlatform.__dataclass_fields__},
        "symlinks": dict(symlinks),
    }
    with atomic_write(record) as out:
        out.write(json.dumps(payload, sort_keys=True).encode())
    return platform, symlinks


def read_base_target(
    spec: str, platform: tuple[str, str], cache_root: Path, insecure_hosts: tuple[str, ...] = ()
) -> Target:
    """The target a base image gives (what ``layerplan build --base`` would use)."""
    cache = BlobCache(cache_root)
    with open_base_image(spec, Platform(os=platform[0], architecture=platform[1]), cache, ClientPool(insecure_hosts)) as base:
        detected, _ = base_platform(base, cache)
    return detected.to_target()
