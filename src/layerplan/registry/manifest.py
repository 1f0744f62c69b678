"""Manifests as fetched from a registry, and choosing one platform out of an index."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from layerplan.image.errors import BaseImageError
from layerplan.image.index import select_manifest
from layerplan.oci import Descriptor, Digest
from layerplan.oci.descriptor import MediaType
from layerplan.oci.platform import Platform

__all__ = ["ACCEPTED_MANIFEST_TYPES", "FetchedManifest", "Platform", "select_platform"]

ACCEPTED_MANIFEST_TYPES = (
    MediaType.OCI_MANIFEST,
    MediaType.DOCKER_MANIFEST,
    MediaType.OCI_INDEX,
    MediaType.DOCKER_MANIFEST_LIST,
)
"""What layerplan reads: OCI and Docker v2 schema 2 manifests and indexes."""


class FetchedManifest(NamedTuple):
    """A manifest's exact bytes, its media type and its digest (of those bytes)."""

    data: bytes
    media_type: str
    digest: Digest

    @property
    def is_index(self) -> bool:
        """True for an OCI index or a Docker manifest list."""
        return self.media_type in MediaType.INDEXES

    def json(self) -> dict[str, Any]:
        """The parsed manifest (a dict; ``ValueError`` if it is not a JSON object)."""
        value = json.loads(self.data)
        if not isinstance(value, dict):
            raise ValueError("manifest is not a JSON object")
        return value


def select_platform(index: FetchedManifest, platform: Platform) -> Descriptor:
    """The descriptor of ``platform``'s manifest in ``index``.

    The choice is ``image.index.select_manifest``'s, layerplan's one platform selector
    (the registry transport resolves indexes with it directly); this adapter keeps
    ``RegistryClient.get_image_manifest``'s contract: ``LookupError`` naming the
    platforms the index has when none matches (or the match is a nested index), and
    ``ValueError``/``KeyError`` for a malformed index.
    """
    try:
        entry = select_manifest(index.json(), platform)
    except BaseImageError as error:
        raise LookupError(error.message) from error
    if entry.media_type not in MediaType.MANIFESTS:
        raise LookupError(f"the {platform} entry of the index is itself an index ({entry.digest})")
    return entry
