"""The registry as a layer cache: layers of earlier images, found by their keys.

Every layer layerplan builds is pushed with annotations on its manifest descriptor:
``dev.layerplan.key``, the plan's key (what ``layerplan plan --json`` shows), and, but
for the app layer, ``dev.layerplan.build-key``, the key of the local layer cache (the
plan's key plus what else decides the bytes: the time stamp, bytecode). A build whose
local cache lacks a layer looks its build key up in the cache images (``cache-from``,
else each registry output's previous image): a hit is the earlier image's layer as it
is, with no wheel downloaded and nothing built.

Only the manifest and config of a cache image are read, once per build, on the first
miss (or earlier, by the resolution, looking for the base's platform record there:
``resolution.cache_images`` reads each once for both). A reused layer's bytes are not downloaded to reuse it: a push mounts it from the
cache image's repository (its ``origin``), or finds it already there; an output that
needs the bytes (a file, the Docker engine, another registry) opens the layer, which
downloads it through the blob cache, verified against its digest.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from layerplan.cache.store import BlobCache
from layerplan.image.cached import cached_image
from layerplan.image.errors import BaseImageError
from layerplan.image.model import Image
from layerplan.image.model import Layer as ImageLayer
from layerplan.oci.digest import Digest
from layerplan.oci.platform import Platform
from layerplan.registry.errors import RegistryAuthError, RegistryError, RegistryNotFoundError
from layerplan.resolution.cache_images import CacheImages
from layerplan.resolution.resolved import CacheImage
from layerplan.sbom.model import License
from layerplan.transports import ClientPool
from layerplan.transports.remote import remember_pulled

if TYPE_CHECKING:
    from layerplan.registry import KnownLocations

__all__ = ["BUILD_KEY_ANNOTATION", "KEY_ANNOTATION", "RegistryLayerCache", "ReusedLayer", "layer_annotations"]

KEY_ANNOTATION = "dev.layerplan.key"
"""The plan's key of the layer (``layerplan plan --json``)."""
BUILD_KEY_ANNOTATION = "dev.layerplan.build-key"
"""The local layer cache's key of the layer: what a later build matches on."""

_MAX_SBOM = 16 * 1024 * 1024
"""A cache image's SBOM bigger than this is not read."""
_HEX64 = re.compile(r"[0-9a-f]{64}")


def layer_annotations(plan_key: str, build_key: str | None) -> dict[str, str]:
    """The annotations of one of layerplan's layers in the manifest (the app layer has no
    build key: see ``BuiltLayer.build_key``)."""
    return {KEY_ANNOTATION: plan_key, **({BUILD_KEY_ANNOTATION: build_key} if build_key else {})}


@dataclass(frozen=True, kw_only=True, slots=True)
class ReusedLayer:
    """A layer of a cache image, as the new image uses it."""

    layer: ImageLayer
    """Its descriptor and diff_id as the cache image has them; it opens through the blob
    cache, and its origin is the cache image's repository (a push mounts it from there)."""
    source: str
    """The cache image it comes from (``registry/repository:tag``)."""


class RegistryLayerCache:
    """The layers of ``images`` by build key, for a target of ``platform``.

    Nothing is read until the first :meth:`find`; then each image's manifest and config
    (never a layer). An image that cannot be used is a warning in :attr:`warnings` (none
    for an output's own image that does not exist yet) and its layers are built.
    """

    def __init__(
        self,
        images: Sequence[CacheImage],
        *,
        clients: ClientPool,
        blobs: BlobCache,
        platform: Platform,
        locations: KnownLocations | None = None,
        reader: CacheImages | None = None,
    ) -> None:
        """``reader`` is the build's :class:`CacheImages` (what the resolution read of
        them is not read again); one of its own otherwise."""
        self.images = tuple(images)
        self.clients = clients
        self.reader = reader if reader is not None else CacheImages(self.images, clients)
        self.blobs = blobs
        self.platform = platform
        self.locations = locations
        self.warnings: list[str] = []
        self._layers: dict[str, ReusedLayer] | None = None
        self._opened: list[tuple[CacheImage, Image]] = []

    def find(self, build_key: str) -> ReusedLayer | None:
        """The cache images' layer of ``build_key`` (the first image that has it); ``None``."""
        if not self.images:
            return None
        if self._layers is None:
            self._layers = {}
            for cache in self.images:
                image = self._open(cache)
                if image is not None:
                    self._opened.append((cache, image))
                    for key, layer in self._index(cache, image).items():
                        self._layers.setdefault(key, ReusedLayer(layer=layer, source=str(cache.reference)))
        return self._layers.get(build_key)

    def licenses(self, layer_digests: Collection[str]) -> dict[str, License]:
        """The licenses the cache images' own CycloneDX SBOMs state for the packages of
        ``layer_digests`` (layers this build reused from them and so never reads): the
        same the build that made those layers read from their files. A cache image without
        an SBOM (or one that cannot be read) gives none."""
        from layerplan.registry.referrers import select_referrers
        from layerplan.sbom.cyclonedx import MEDIA_TYPE, licenses_in_layers

        found: dict[str, License] = {}
        wanted = set(layer_digests)
        for cache, image in self._opened:
            if not wanted & {str(layer.digest) for layer in image.layers}:
                continue
            reference = cache.reference
            client = self.clients.get(reference.registry)
            try:
                for digest, _ in select_referrers(self.reader.referrers(cache, image), MEDIA_TYPE):
                    manifest = json.loads(client.get_manifest(reference.repository, digest).data)
                    blob = Digest.parse(str(manifest["layers"][0]["digest"]))
                    for name, license in licenses_in_layers(client.read_blob(reference.repository, blob, max_size=_MAX_SBOM), wanted).items():
                        found.setdefault(name, license)
            except (RegistryError, ValueError, KeyError, IndexError, TypeError):
                continue  # the licenses are left out; the SBOM is still written
        return found

    def _open(self, cache: CacheImage) -> Image | None:
        reference = cache.reference
        try:
            image = self.reader.open(cache, self.platform)
        except (RegistryNotFoundError, RegistryAuthError) as error:
            # An output's own image is missing on its first push (some registries say so
            # with a 401 for a repository that does not exist yet): nothing to warn about.
            if cache.explicit:
                self._warn(reference, error.message)
            return None
        except (RegistryError, BaseImageError) as error:
            self._warn(reference, error.message)
            return None
        if not image.platform.matches(self.platform):
            self._warn(reference, f"it is for {image.platform}, this build for {self.platform}")
            return None
        remember_pulled(self.locations, image)  # a later push into another repository mounts from it
        return cached_image(image, self.blobs)

    def _index(self, cache: CacheImage, image: Image) -> dict[str, ImageLayer]:
        found: dict[str, ImageLayer] = {}
        for layer in image.layers:
            key = layer.descriptor.annotations.get(BUILD_KEY_ANNOTATION, "")
            if _HEX64.fullmatch(key):
                found.setdefault(key, dataclasses.replace(layer, descriptor=dataclasses.replace(layer.descriptor, annotations={})))
        if not found:
            self._warn(cache.reference, "its layers carry no layerplan keys (not pushed by this layerplan)")
        return found

    def _warn(self, reference: object, why: str) -> None:
        self.warnings.append(f"cache image {reference} not used: {why}; its layers are built instead")
