"""Manifests as fetched from a registry, and choosing one platform out of an index."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

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

    Raises ``LookupError`` naming the platforms the index has when none matches, and
    ``ValueError``/``KeyError`` for a malformed index.
    """
    entries = [Descriptor.from_json(m) for m in index.json().get("manifests") or []]
    for entry in entries:
        if entry.media_type in MediaType.MANIFESTS and entry.platform and platform.matches(Platform.from_json(entry.platform)):
            return entry
    have = sorted({_platform_text(e.platform) for e in entries if e.platform})
    raise LookupError(f"no manifest for {platform} in the index (it has: {', '.join(have) or 'none'})")


def _platform_text(platform: Any) -> str:
    parts = [platform.get("os", "?"), platform.get("architecture", "?")]
    if platform.get("variant"):
        parts.append(platform["variant"])
    return "/".join(str(p) for p in parts)
