"""The base image: opened through its transport (a registry pull's layers wrapped in the
blob cache), and the target platform read from its files once per base digest."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from layerplan.cache.atomic import atomic_write
from layerplan.cache.store import BlobCache
from layerplan.image.cached import cached_image
from layerplan.image.index import Platform
from layerplan.image.model import Image
from layerplan.image.platform import DetectedPlatform, detect_platform
from layerplan.oci.reference import ImageReference
from layerplan.target import Target
from layerplan.transports import ClientPool, TransportContext, parse_source

__all__ = ["BaseImage", "ClientPool", "base_platform", "open_base_image", "read_base_target"]

_PLATFORM_CACHE_FORMAT = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class BaseImage:
    """The base image, with where it came from (for annotations and the pinning warning;
    its layers carry their registry origin for cross-repository mounts)."""

    image: Image
    name: str
    """As the user wrote it (``python:3.12-slim``)."""
    reference: ImageReference | None
    """The registry reference, pinned to the digest used; ``None`` for local sources."""
    pinned: bool
    """True when the user gave a digest (``@sha256:...``) or a local source: the build cannot drift."""


@contextlib.contextmanager
def open_base_image(spec: str, platform: Platform, cache: BlobCache, clients: ClientPool) -> Iterator[BaseImage]:
    """Yield the base image named by ``spec`` for ``platform``.

    Raise ``ConfigError`` for a spec that names nothing (see ``transports.parse_source``).
    Registry layers are not downloaded here: each opens through the blob cache, fetched
    on first use, so a push to the same registry never downloads them.
    """
    source = parse_source(spec)
    with source.open(platform, TransportContext(clients=clients)) as image:
        if source.remote:
            image = cached_image(image, cache)
        yield BaseImage(
            image=image,
            name=spec,
            reference=source.reference.with_digest(image.digest) if source.reference else None,
            pinned=source.pinned,
        )


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
