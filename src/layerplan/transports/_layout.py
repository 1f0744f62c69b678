"""What the OCI image layout sinks and sources share (directory, archive, docker-archive)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from layerplan.image.errors import BaseImageError
from layerplan.image.image_index import ImageIndex
from layerplan.image.index import Platform, resolve_manifest, select_manifest
from layerplan.image.model import Image, Opener, bytes_opener
from layerplan.oci.descriptor import Descriptor, MediaType
from layerplan.oci.digest import Digest, canonical_json

__all__ = ["LAYOUT_FILE", "REF_NAME", "Stored", "blob_name", "image_blobs", "index_json", "load_layout"]

Stored = Image | ImageIndex
"""What a layout stores under a name: one image, or an index of one per platform (its
``index.json`` entry then points at the index blob, as the OCI layout spec allows)."""

LAYOUT_FILE = canonical_json({"imageLayoutVersion": "1.0.0"})
REF_NAME = "org.opencontainers.image.ref.name"


def blob_name(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.hex}"


def image_blobs(image: Stored) -> list[tuple[Digest, int, Opener]]:
    """Every blob of ``image`` (layers, config, manifest; each image's and the index's for
    an index) once, sorted by digest."""
    if isinstance(image, ImageIndex):
        return image.blobs()
    blobs: dict[Digest, tuple[Digest, int, Opener]] = {}
    for layer in image.layers:
        blobs.setdefault(layer.digest, (layer.digest, layer.descriptor.size, layer.opener))
    blobs[Digest.of_bytes(image.config)] = (Digest.of_bytes(image.config), len(image.config), bytes_opener(image.config))
    blobs[image.digest] = (image.digest, len(image.manifest), bytes_opener(image.manifest))
    return [blobs[d] for d in sorted(blobs)]


def index_json(image: Stored, ref_name: str | None, existing: Mapping[str, Any] | None = None) -> bytes:
    """``index.json`` listing ``image`` under ``ref_name``; entries of ``existing`` with
    another name (or the same digest and no name) are kept, so one layout can hold several images."""
    annotations = {REF_NAME: ref_name} if ref_name else {}
    ours = image.manifest_descriptor(annotations).to_json()
    kept = []
    for entry in (existing or {}).get("manifests") or []:
        name = (entry.get("annotations") or {}).get(REF_NAME)
        if (ref_name and name == ref_name) or entry == ours:
            continue
        kept.append(entry)
    return canonical_json({"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": [*kept, ours]})


def _parse(data: bytes, what: str, source: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise BaseImageError(f"{what} is not valid JSON: {exc}", path=source) from exc
    if not isinstance(value, dict):
        raise BaseImageError(f"{what} is not a JSON object", path=source)
    return value


def load_layout(
    read: Callable[[str], bytes],
    opener: Callable[[str], Opener],
    *,
    ref_name: str | None,
    platform: Platform | None,
    source: str,
) -> Image:
    """The image a layout's ``index.json`` names, resolving (nested) indexes to ``platform``.

    ``read(name)`` returns a file of the layout, ``opener(name)`` opens one lazily.
    Without ``ref_name`` the layout must hold one image, or several for different
    platforms. Raise ``BaseImageError`` saying what the layout holds when nothing fits.
    """
    index = _parse(read("index.json"), "index.json", source)
    # An artifact about an image (an SBOM ``oras attach --oci-layout`` added) is not an image to pick.
    entries = [e for e in index.get("manifests") or [] if isinstance(e, dict) and not e.get("artifactType")]
    if ref_name is not None:
        names = [str((e.get("annotations") or {}).get(REF_NAME) or "") for e in entries]
        entries = [e for e, name in zip(entries, names) if name == ref_name]
        if not entries:
            raise BaseImageError(
                f"the layout has no image named {ref_name!r} (it has: {', '.join(n for n in names if n) or 'no names'})",
                path=source,
            )
    if not entries:
        raise BaseImageError("the layout's index.json lists no image", path=source)
    wanted = platform or Platform.host()
    if len(entries) > 1:
        matching = [e for e in entries if e.get("platform") and Platform.from_json(e["platform"]).matches(wanted)]
        if len(matching) > 1 or any(not e.get("platform") for e in entries):
            names = [str((e.get("annotations") or {}).get(REF_NAME) or e.get("digest", "?")) for e in entries]
            raise BaseImageError(
                f"the layout holds {len(entries)} images; say which (it has: {', '.join(names)})",
                path=source,
                hint="add :NAME after the layout's path",
            )
    descriptor = (
        Descriptor.from_json(entries[0]) if len(entries) == 1 else select_manifest({"manifests": entries}, wanted, source=source)
    )

    def fetch(descriptor: Descriptor) -> bytes:
        data = read(blob_name(descriptor.digest))
        if Digest.of_bytes(data) != descriptor.digest:
            raise BaseImageError(f"blob {descriptor.digest} does not match its digest", path=source)
        return data

    manifest = resolve_manifest(fetch(descriptor), fetch, wanted, media_type=descriptor.media_type, source=source)
    try:
        config_descriptor = Descriptor.from_json(_parse(manifest, "the manifest", source)["config"])
    except (KeyError, ValueError, TypeError) as exc:
        raise BaseImageError(f"malformed image manifest: {exc}", path=source) from exc
    config = read(blob_name(config_descriptor.digest))
    if Digest.of_bytes(config) != config_descriptor.digest:
        raise BaseImageError(f"config blob {config_descriptor.digest} does not match its digest", path=source)
    image = Image.from_manifest(manifest, config, lambda d: opener(blob_name(d.digest)), source=source)
    if platform is not None and not image.platform.matches(platform):
        raise BaseImageError(
            f"the image is {image.platform}, not the requested {platform}",
            path=source,
            hint="choose a base image for the target platform",
        )
    return image
