"""An OCI image index of images layerplan built, one per platform.

The index is canonical JSON listing each image's manifest descriptor with its platform,
in the order the platforms were asked for, so the same images give the same index
digest. Blobs several images share (the layers that do not depend on the platform) are
listed once by :meth:`ImageIndex.blobs`, so every sink stores and uploads them once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from layerplan.image.errors import ImageError
from layerplan.image.model import Image, Opener, bytes_opener
from layerplan.oci.descriptor import Descriptor, MediaType
from layerplan.oci.digest import Digest, canonical_json
from layerplan.oci.platform import Platform

__all__ = ["ImageIndex"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageIndex:
    """Images of one build for several platforms (``application/vnd.oci.image.index.v1+json``)."""

    images: tuple[Image, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        platforms = [str(image.platform) for image in self.images]
        if len(set(platforms)) != len(platforms):
            raise ImageError(f"an index holds one image per platform, got {', '.join(platforms)}")

    @property
    def manifest(self) -> bytes:
        """The index document (canonical JSON)."""
        document: dict[str, object] = {
            "schemaVersion": 2,
            "mediaType": MediaType.OCI_INDEX,
            "manifests": [image.manifest_descriptor().to_json() for image in self.images],
        }
        if self.annotations:
            document["annotations"] = dict(self.annotations)
        return canonical_json(document)

    @property
    def digest(self) -> Digest:
        return Digest.of_bytes(self.manifest)

    @property
    def media_type(self) -> str:
        return MediaType.OCI_INDEX

    @property
    def platforms(self) -> tuple[Platform, ...]:
        return tuple(image.platform for image in self.images)

    def manifest_descriptor(self, annotations: dict[str, str] | None = None) -> Descriptor:
        """A descriptor of the index, as a layout's ``index.json`` lists it (no platform)."""
        return Descriptor(
            media_type=self.media_type, digest=self.digest, size=len(self.manifest), annotations=annotations or {}
        )

    def image_for(self, platform: Platform) -> Image | None:
        """The image of ``platform`` (``arm64`` matching ``arm64/v8``), or ``None``."""
        return next((image for image in self.images if image.platform.matches(platform)), None)

    def blobs(self) -> list[tuple[Digest, int, Opener]]:
        """Every blob of every image (layers, configs, manifests) and the index, each once,
        sorted by digest."""
        found: dict[Digest, tuple[Digest, int, Opener]] = {}
        for image in self.images:
            for layer in image.layers:
                found.setdefault(layer.digest, (layer.digest, layer.descriptor.size, layer.opener))
            config = image.config_descriptor.digest
            found[config] = (config, len(image.config), bytes_opener(image.config))
            found[image.digest] = (image.digest, len(image.manifest), bytes_opener(image.manifest))
        found[self.digest] = (self.digest, len(self.manifest), bytes_opener(self.manifest))
        return [found[d] for d in sorted(found)]
