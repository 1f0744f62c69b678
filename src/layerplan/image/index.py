"""Platforms (``linux/arm64/v8``) and choosing one image from a multi-platform index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from layerplan.image.errors import BaseImageError
from layerplan.oci.descriptor import Descriptor, MediaType
from layerplan.oci.platform import Platform

__all__ = ["Platform", "select_manifest"]

def select_manifest(index: Mapping[str, Any], platform: Platform, *, source: str = "") -> Descriptor:
    """The manifest descriptor of ``index`` for ``platform``.

    Attestation manifests (``unknown/unknown``) are never chosen. Raise
    ``BaseImageError`` listing the platforms the index has when none matches.
    """
    entries: Sequence[Mapping[str, Any]] = index.get("manifests") or []
    available = []
    for entry in entries:
        if entry.get("mediaType") not in (*MediaType.MANIFESTS, *MediaType.INDEXES, None):
            continue
        if not entry.get("platform"):
            continue
        candidate = Platform.from_json(entry["platform"])
        available.append(str(candidate))
        if candidate.matches(platform):
            return Descriptor.from_json(entry)
    raise BaseImageError(
        f"the base image has no {platform} variant (it has: {', '.join(available) or 'none listed'})",
        path=source or None,
        hint="choose another base image or another target platform",
    )
