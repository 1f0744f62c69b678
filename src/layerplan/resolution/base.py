"""The base image: opened through its transport (a registry pull's layers wrapped in the
blob cache), and what it runs (Python, architecture, C library) read from its files once
per base digest. The resolution step turns those facts into the target."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from layerplan.cache.store import BlobCache, Store
from layerplan.errors import LayerplanError
from layerplan.events import Progress, StageFinished, StageStarted, no_progress
from layerplan.image.cached import cached_image
from layerplan.image.index import Platform
from layerplan.image.model import Image
from layerplan.image.platform import DetectedPlatform, detect_platform
from layerplan.oci.reference import ImageReference
from layerplan.transports import ClientPool, TransportContext, parse_source

__all__ = ["BaseImage", "ClientPool", "base_platform", "open_base_image"]

_PLATFORM_CACHE_FORMAT = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class BaseImage:
    """The base image, with where it came from (for annotations and the pinning warning;
    its layers carry their registry origin for cross-repository mounts) and what it runs."""

    image: Image
    name: str
    """As the user wrote it (``python:3.12-slim``), in the current spelling; a registry
    base without its ``docker://``, since both spellings name the same image."""
    reference: ImageReference | None
    """The registry reference, pinned to the digest used; ``None`` for local sources."""
    pinned: bool
    """True when the user gave a digest (``@sha256:...``) or a local source: the build cannot drift."""
    platform: DetectedPlatform
    """What the base runs, read from its files (cached per digest)."""
    symlinks: Mapping[str, str]
    """Paths that are symlinks in the base (``/lib`` -> ``usr/lib``): layers must not write them."""


@contextlib.contextmanager
def open_base_image(
    spec: str,
    platform: Platform,
    cache: BlobCache,
    clients: ClientPool,
    *,
    key: str = "base",
    progress: Progress = no_progress,
) -> Iterator[BaseImage]:
    """Yield the base image named by ``spec`` for ``platform``, with what it runs.

    ``key`` names the setting that chose it, for errors (``--base``). Registry layers are
    not downloaded to open it: each opens through the blob cache, fetched on first use
    (the platform scan, once per base digest), so a push to the same registry never
    downloads them. ``progress`` hears of the ``base`` stage (manifest, config, scan).
    """
    try:
        source = parse_source(spec)
    except LayerplanError as error:
        if error.key == "base":
            error.key = key
        raise
    progress(StageStarted(stage="base", detail=spec))
    with source.open(platform, TransportContext(clients=clients)) as image:
        if source.remote:
            image = cached_image(image, cache)
        detected, symlinks = base_platform(image, cache)
        libc = f" {detected.libc_family}" if detected.libc_family else ""
        progress(
            StageFinished(
                stage="base",
                summary=f"{image.digest.short}: Python {detected.python_version}, {detected.os}/{detected.arch}{libc}",
            )
        )
        yield BaseImage(
            image=image,
            name=str(source),
            reference=source.reference.with_digest(image.digest) if source.reference else None,
            pinned=source.pinned,
            platform=detected,
            symlinks=symlinks,
        )


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
        "platform": dataclasses.asdict(platform),
        "symlinks": dict(symlinks),
    }
    records.put(image.digest.hex, json.dumps(payload, sort_keys=True).encode())
    return platform, symlinks
