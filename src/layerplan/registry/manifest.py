"""Manifests as fetched from a registry, and choosing one platform out of an index."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from layerplan.oci import Descriptor, Digest
from layerplan.oci.descriptor import MediaType

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


@dataclass(frozen=True, kw_only=True, slots=True)
class Platform:
    """``os/architecture[/variant]`` as in an index's ``platform`` field."""

    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``linux/amd64`` or ``linux/arm64/v8``; raise ``ValueError`` otherwise."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform {text!r} is not os/architecture[/variant]")
        return cls(os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else None)

    def matches(self, platform: dict[str, Any] | None) -> bool:
        """True when an index entry's ``platform`` is this one (arm64's v8 variant is implied)."""
        if not platform:
            return False
        if platform.get("os") != self.os or platform.get("architecture") != self.architecture:
            return False
        implied = "v8" if self.architecture == "arm64" else None
        wanted = self.variant or implied
        return wanted is None or (platform.get("variant") or implied) == wanted

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def select_platform(index: FetchedManifest, platform: Platform) -> Descriptor:
    """The descriptor of ``platform``'s manifest in ``index``.

    Raises ``LookupError`` naming the platforms the index has when none matches, and
    ``ValueError``/``KeyError`` for a malformed index.
    """
    entries = [Descriptor.from_json(m) for m in index.json().get("manifests") or []]
    for entry in entries:
        if entry.media_type in MediaType.MANIFESTS and platform.matches(dict(entry.platform or {})):
            return entry
    have = sorted({_platform_text(e.platform) for e in entries if e.platform})
    raise LookupError(f"no manifest for {platform} in the index (it has: {', '.join(have) or 'none'})")


def _platform_text(platform: Any) -> str:
    parts = [platform.get("os", "?"), platform.get("architecture", "?")]
    if platform.get("variant"):
        parts.append(platform["variant"])
    return "/".join(str(p) for p in parts)
