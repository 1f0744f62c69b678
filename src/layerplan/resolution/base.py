"""The base image: opened through its transport (a registry pull's layers wrapped in the
blob cache), and what it runs (Python, architecture, C library) read from its files once
per base digest. The resolution step turns those facts into the target."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from layerplan.cache.store import BlobCache, Store
from layerplan.errors import LayerplanError
from layerplan.events import Progress, StageFinished, StageStarted, no_progress
from layerplan.image.cached import cached_image
from layerplan.image.index import Platform
from layerplan.image.model import Image
from layerplan.image.platform import DetectedPlatform, detect_platform
from layerplan.image.platform_record import PlatformRecordError, encode_record, parse_record
from layerplan.oci.reference import ImageReference
from layerplan.transports import ClientPool, TransportContext, parse_source

if TYPE_CHECKING:
    from layerplan.resolution.cache_images import FoundRecord

__all__ = ["BaseImage", "BasePlatform", "ClientPool", "RemoteRecords", "base_platform", "open_base_image"]

_LEGACY_FORMAT = 1
"""The local record before ``image.platform_record`` (still read: a warm cache stays warm)."""

RemoteRecords = Callable[[Image], "FoundRecord | None"]
"""Finds the platform record of a base image elsewhere (``CacheImages.base_record``)."""


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
    platform_from: str = "scanned"
    """Where ``platform`` and ``symlinks`` came from (``BasePlatform.source``)."""
    warnings: tuple[str, ...] = ()
    """What went wrong finding them that the build should say (an unusable record)."""

    @property
    def platform_record(self) -> bytes:
        """The canonical record of what the base runs (``image.platform_record``), attached to
        pushed images so a fresh runner need not scan the base: the same bytes wherever the
        facts came from, so the attachment is the same on every machine."""
        return encode_record(self.image.digest, self.platform, self.symlinks)


@contextlib.contextmanager
def open_base_image(
    spec: str,
    platform: Platform,
    cache: BlobCache,
    clients: ClientPool,
    *,
    key: str = "base",
    progress: Progress = no_progress,
    records: RemoteRecords | None = None,
) -> Iterator[BaseImage]:
    """Yield the base image named by ``spec`` for ``platform``, with what it runs.

    ``key`` names the setting that chose it, for errors (``--base``). Registry layers are
    not downloaded to open it: each opens through the blob cache, fetched on first use
    (the platform scan, once per base digest), so a push to the same registry never
    downloads them. ``progress`` hears of the ``base`` stage (manifest, config, scan).
    ``records`` finds the platform record of a base the local cache has none of (the
    cache images'), so the base need not be scanned (``base_platform``).
    """
    try:
        source = parse_source(spec)
    except LayerplanError as error:
        if error.key == "base":
            error.key = key
        raise
    progress(StageStarted(stage="base", detail=spec))
    with source.open(platform, TransportContext(clients=clients, documents=cache)) as image:
        if source.remote:
            image = cached_image(image, cache)
        facts = base_platform(image, cache, records)
        detected = facts.platform
        libc = f" {detected.libc_family}" if detected.libc_family else ""
        where = f" (record from {facts.source})" if facts.source.startswith("cache image") else ""
        progress(
            StageFinished(
                stage="base",
                summary=f"{image.digest.short}: Python {detected.python_version}, {detected.os}/{detected.arch}{libc}{where}",
            )
        )
        yield BaseImage(
            image=image,
            name=str(source),
            reference=source.reference.with_digest(image.digest) if source.reference else None,
            pinned=source.pinned,
            platform=detected,
            symlinks=facts.symlinks,
            platform_from=facts.source,
            warnings=facts.warnings,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class BasePlatform:
    """What a base runs and its symlinks, with where that came from."""

    platform: DetectedPlatform
    symlinks: Mapping[str, str]
    source: str
    """``scanned`` (its layers were read), ``local cache`` (a record of an earlier scan
    on this machine) or ``cache image REF`` (the record attached to an image this build
    reads its layers from: nothing of the base was downloaded)."""
    warnings: tuple[str, ...] = ()
    """A record that could not be used (the base was scanned instead)."""


def base_platform(image: Image, cache: BlobCache, records: RemoteRecords | None = None) -> BasePlatform:
    """The platform and symlinks of the base, read from its files once per digest.

    Reading means downloading and scanning every base layer, so the answer is kept in
    the cache (the store's ``platforms`` records, by digest) and later builds reuse it.
    A cache that lacks it asks ``records`` (the cache images' referrers) for a record of
    this very digest before scanning, and keeps what it finds. A record that cannot be
    used is a warning, and the base is scanned.
    """
    store = Store(cache.root).platforms
    known = store.get(image.digest.hex)
    if known is not None:
        found = _local_record(known, image)
        if found is not None:
            return BasePlatform(platform=found[0], symlinks=found[1], source="local cache")
    warnings: list[str] = []
    if records is not None:
        remote = records(image)
        if remote is not None:
            try:
                platform, symlinks = parse_record(remote.data, base=image.digest, config=image.config_json)
            except PlatformRecordError as error:
                warnings.append(
                    f"platform record of base {image.digest.short} in cache image {remote.source} not used: {error};"
                    " the base's layers are scanned instead"
                )
            else:
                store.put(image.digest.hex, encode_record(image.digest, platform, symlinks))
                return BasePlatform(platform=platform, symlinks=symlinks, source=f"cache image {remote.source}")
    scanned, links = detect_platform(image)
    store.put(image.digest.hex, encode_record(image.digest, scanned, links))
    return BasePlatform(platform=scanned, symlinks=links, source="scanned", warnings=tuple(warnings))


def _local_record(data: bytes, image: Image) -> tuple[DetectedPlatform, dict[str, str]] | None:
    """A local record: the current format, or the one layerplan wrote before records
    travelled with images (``format: 1``, without the base's digest: its file name is);
    ``None`` when unreadable (the base is scanned again and the record overwritten)."""
    try:
        return parse_record(data, base=image.digest, config=image.config_json)
    except PlatformRecordError:
        pass
    try:
        legacy = json.loads(data)
        if legacy.get("format") == _LEGACY_FORMAT:
            return DetectedPlatform(**legacy["platform"]), dict(legacy["symlinks"])
    except (ValueError, TypeError, KeyError, AttributeError):
        pass
    return None
