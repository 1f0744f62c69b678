"""Platforms (``linux/arm64/v8``) and choosing one image from a multi-platform index.

This is layerplan's one platform selector: a registry pull, an OCI layout and an archive
all go through :func:`resolve_manifest`, so every source picks the same entry of the same
index (attestations skipped, ``arm64`` matching ``arm64/v8``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from layerplan.image.errors import BaseImageError
from layerplan.oci.descriptor import Descriptor, MediaType
from layerplan.oci.platform import Platform

__all__ = ["Platform", "is_index", "resolve_manifest", "select_manifest"]

_MAX_DEPTH = 4
"""Indexes met on the way to a manifest; real images nest at most one (a tag's index)."""


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


def is_index(document: Mapping[str, Any], media_type: str | None = None) -> bool:
    """True for an OCI index or a Docker manifest list (by media type, else by shape:
    ``mediaType`` is optional in early OCI documents)."""
    kind = document.get("mediaType") or media_type
    return kind in MediaType.INDEXES or ("manifests" in document and "layers" not in document)


def resolve_manifest(
    data: bytes,
    fetch: Callable[[Descriptor], bytes],
    platform: Platform,
    *,
    media_type: str | None = None,
    source: str = "",
) -> bytes:
    """The bytes of ``platform``'s image manifest, starting from the manifest or index ``data``.

    Each index (nested ones too) is resolved with :func:`select_manifest`, and
    ``fetch(descriptor)`` returns the chosen document's bytes, verified against its
    digest by the transport. A manifest is returned as it is. Raise ``BaseImageError``
    for a document that is not a JSON object, no matching platform, or indexes nested
    too deeply.
    """
    for _ in range(_MAX_DEPTH):
        try:
            document = json.loads(data)
        except ValueError as exc:
            raise BaseImageError(f"the manifest is not valid JSON: {exc}", path=source or None) from exc
        if not isinstance(document, dict):
            raise BaseImageError("the manifest is not a JSON object", path=source or None)
        if not is_index(document, media_type):
            return data
        descriptor = select_manifest(document, platform, source=source)
        data, media_type = fetch(descriptor), descriptor.media_type
    raise BaseImageError("indexes nested too deeply", path=source or None)
