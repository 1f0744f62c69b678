"""OCI 1.1 artifacts that refer to an image (an SBOM, a provenance, a signature): an image manifest with
``artifactType``, the empty config, one blob, and ``subject`` = the image's manifest.

Registries with the referrers API index them by ``subject``; for the others, and in an
image layout, they are listed in an index (the referrers tag ``sha256-<hex>``, or the
layout's ``index.json``) whose descriptors carry the ``artifactType``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from layerplan.image.model import Image
from layerplan.oci.descriptor import MediaType
from layerplan.oci.digest import Digest, canonical_json

__all__ = ["EMPTY_CONFIG", "EMPTY_MEDIA_TYPE", "IN_TOTO_MEDIA_TYPE", "Artifact", "make_artifact", "referrers_tag"]

IN_TOTO_MEDIA_TYPE = "application/vnd.in-toto+json"
"""The artifact type of an in-toto statement (a provenance), as cosign and oras name it."""
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG = b"{}"
"""The image spec's empty descriptor content (``data``: ``e30=``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Artifact:
    """A referrer manifest and the blobs it names (the empty config and its one layer)."""

    manifest: bytes
    artifact_type: str
    subject: Digest
    blobs: tuple[tuple[Digest, bytes], ...]
    annotations: dict[str, str]

    @property
    def digest(self) -> Digest:
        return Digest.of_bytes(self.manifest)

    @property
    def payload(self) -> bytes:
        """The document itself (the manifest's one layer)."""
        return self.blobs[-1][1]

    @property
    def title(self) -> str:
        """Its file name (``org.opencontainers.image.title``), else ``artifact.json``."""
        return self.annotations.get("org.opencontainers.image.title") or "artifact.json"

    def descriptor_json(self) -> dict[str, Any]:
        """Its descriptor as an index (referrers list, tag fallback, ``index.json``) lists it."""
        out: dict[str, Any] = {
            "mediaType": MediaType.OCI_MANIFEST, "digest": str(self.digest), "size": len(self.manifest),
            "artifactType": self.artifact_type,
        }  # fmt: skip
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


def make_artifact(subject: Image, *, artifact_type: str, data: bytes, annotations: dict[str, str]) -> Artifact:
    """An artifact of ``data`` (stored with ``artifact_type`` as its media type) about
    ``subject``; ``annotations`` go on the manifest (and its descriptors)."""
    blob = Digest.of_bytes(data)
    empty = Digest.of_bytes(EMPTY_CONFIG)
    title = annotations.get("org.opencontainers.image.title")
    layer: dict[str, Any] = {"mediaType": artifact_type, "digest": str(blob), "size": len(data)}
    if title:
        layer["annotations"] = {"org.opencontainers.image.title": title}
    manifest = {
        "schemaVersion": 2,
        "mediaType": MediaType.OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {
            "mediaType": EMPTY_MEDIA_TYPE, "digest": str(empty), "size": len(EMPTY_CONFIG),
            "data": base64.b64encode(EMPTY_CONFIG).decode(),
        },
        "layers": [layer],
        "subject": {"mediaType": subject.media_type, "digest": str(subject.digest), "size": len(subject.manifest)},
        "annotations": dict(annotations),
    }  # fmt: skip
    return Artifact(
        manifest=canonical_json(manifest), artifact_type=artifact_type, subject=subject.digest,
        blobs=((empty, EMPTY_CONFIG), (blob, data)), annotations=dict(annotations),
    )  # fmt: skip


def referrers_tag(subject: Digest) -> str:
    """The referrers tag schema's tag for ``subject``: ``<alg>-<hex>`` (image spec 1.1)."""
    return f"{subject.algorithm}-{subject.hex}"
