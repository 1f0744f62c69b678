"""The cache images of a build (``cache-from``, else each registry output's own), each read
once and shared: the resolution looks there for the base's platform record, the layer
builder (``containerize.registry_cache``) for layers, the SBOM for reused layers' licenses.

Reading an image is its manifest and config (never a layer); its referrers listing is
read once too, the first time the record or the licenses are looked for. A failure is
kept as it was raised, so whoever asks again gets it (the layer cache warns; the record
lookup is silent: without a record, the base is scanned, as before).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from layerplan.image.errors import BaseImageError
from layerplan.image.model import Image
from layerplan.image.platform_record import ARTIFACT_TYPE, BASE_DIGEST_ANNOTATION, BASE_PLATFORM_ANNOTATION, MAX_RECORD_SIZE
from layerplan.oci.digest import Digest
from layerplan.oci.platform import Platform
from layerplan.registry.errors import RegistryError
from layerplan.resolution.resolved import CacheImage
from layerplan.transports import ClientPool
from layerplan.transports.remote import pull_image

__all__ = ["CacheImages", "FoundRecord"]


@dataclass(frozen=True, kw_only=True, slots=True)
class FoundRecord:
    """A base's platform record, as a cache image's referrer holds it."""

    data: bytes
    """The record's bytes, verified against the digest its referrer manifest gives."""
    source: str
    """The cache image it is attached to (``registry/repository:tag``)."""


class CacheImages:
    """``images``, each opened (per platform) and listed at most once."""

    def __init__(self, images: Sequence[CacheImage], clients: ClientPool) -> None:
        self.images = tuple(images)
        self.clients = clients
        self._opened: dict[tuple[CacheImage, Platform], Image | RegistryError | BaseImageError] = {}
        self._listed: dict[tuple[CacheImage, Digest], list[dict[str, Any]]] = {}

    def open(self, cache: CacheImage, platform: Platform) -> Image:
        """The image of ``cache`` for ``platform`` (an index resolved to it); raise the
        ``RegistryError`` or ``BaseImageError`` its pull raised (again, when asked again)."""
        key = (cache, platform)
        if key not in self._opened:
            reference = cache.reference
            try:
                self._opened[key] = pull_image(self.clients.get(reference.registry), reference, platform)
            except (RegistryError, BaseImageError) as error:
                self._opened[key] = error
        found = self._opened[key]
        if isinstance(found, Image):
            return found
        raise found

    def referrers(self, cache: CacheImage, image: Image) -> list[dict[str, Any]]:
        """The referrers listing of ``image`` (opened from ``cache``); empty when it cannot
        be read."""
        from layerplan.registry.referrers import list_referrers

        key = (cache, image.digest)
        if key not in self._listed:
            reference = cache.reference
            try:
                self._listed[key] = list_referrers(self.clients.get(reference.registry), reference.repository, image.digest)
            except RegistryError:
                self._listed[key] = []
        return self._listed[key]

    def base_record(self, base: Image) -> FoundRecord | None:
        """The platform record of ``base`` attached to the first cache image (for the base's
        platform) that has one for exactly ``base``'s digest; ``None``. One listing per
        cache image, then the record's manifest and blob: nothing of another base is read."""
        from layerplan.registry.referrers import select_referrers

        for cache in self.images:
            try:
                image = self.open(cache, base.platform)
            except (RegistryError, BaseImageError):
                continue  # the layer cache says why, if it needs the image
            if not image.platform.matches(base.platform):
                continue
            for digest, annotations in select_referrers(self.referrers(cache, image), ARTIFACT_TYPE):
                if annotations.get(BASE_DIGEST_ANNOTATION) != str(base.digest):
                    continue
                if annotations.get(BASE_PLATFORM_ANNOTATION, str(base.platform)) != str(base.platform):
                    continue
                data = self._read(cache, digest)
                if data is not None:
                    return FoundRecord(data=data, source=str(cache.reference))
        return None

    def _read(self, cache: CacheImage, manifest_digest: Digest) -> bytes | None:
        """The one blob of the record's manifest, verified; ``None`` when it cannot be read
        (the record is then as good as absent: the base is scanned)."""
        reference = cache.reference
        client = self.clients.get(reference.registry)
        try:
            manifest = json.loads(client.get_manifest(reference.repository, manifest_digest).data)
            (layer,) = manifest["layers"]
            if layer.get("mediaType") != ARTIFACT_TYPE:
                return None
            return client.read_blob(reference.repository, Digest.parse(str(layer["digest"])), max_size=MAX_RECORD_SIZE)
        except (RegistryError, ValueError, KeyError, TypeError, AttributeError):
            return None
