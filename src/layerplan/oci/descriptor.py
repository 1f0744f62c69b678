"""OCI content descriptors: what a manifest says about a blob."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from layerplan.oci.digest import Digest

__all__ = ["Descriptor", "MediaType"]


class MediaType:
    """Media types layerplan reads and writes."""

    OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
    OCI_INDEX = "application/vnd.oci.image.index.v1+json"
    OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
    OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
    OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
    DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
    DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
    DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
    DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

    MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
    INDEXES = (OCI_INDEX, DOCKER_MANIFEST_LIST)


@dataclass(frozen=True, kw_only=True, slots=True)
class Descriptor:
    """``{mediaType, digest, size, annotations?, platform?}`` of the OCI image spec."""

    media_type: str
    digest: Digest
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The descriptor as it appears in a manifest or index."""
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = dict(self.platform)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Descriptor:
        """Parse a descriptor; raise ``ValueError``/``KeyError`` on a malformed one."""
        return cls(
            media_type=str(data["mediaType"]),
            digest=Digest.parse(str(data["digest"])),
            size=int(data["size"]),
            annotations=dict(data.get("annotations") or {}),
            platform=dict(data["platform"]) if data.get("platform") else None,
        )
