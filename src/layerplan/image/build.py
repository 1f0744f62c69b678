"""Putting an image together: layers built into the cache, then config and manifest."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from layerplan.cache.store import BlobCache, CachedLayer
from layerplan.image.config import LayerHistory, RuntimeConfig, extend_config
from layerplan.image.manifest import build_manifest
from layerplan.image.model import Image, Layer, LayerBlob
from layerplan.image.tarlayer import (
    LayerEntry,
    LayerOptions,
    entries_from_tree,
    write_layer,
)

__all__ = ["NewLayer", "assemble_image", "build_layer_into_cache", "cached_layer"]


@dataclass(frozen=True, kw_only=True, slots=True)
class NewLayer:
    """A layer to append to the base, with the history line that says what it holds."""

    layer: Layer
    created_by: str
    annotations: Mapping[str, str] = field(default_factory=dict)
    """The layer descriptor's annotations in the manifest (replacing any it had)."""


def cached_layer(cache: BlobCache, key: str) -> Layer | None:
    """The layer built earlier under ``key``, opening from the cache; ``None`` on a miss."""
    hit = cache.get_layer(key)
    if hit is None:
        return None
    blob = LayerBlob(digest=hit.digest, diff_id=hit.diff_id, size=hit.size)
    return Layer.from_blob(blob, lambda: cache.open(hit.digest))


def build_layer_into_cache(
    source: Path | Iterable[LayerEntry],
    cache: BlobCache,
    *,
    options: LayerOptions | None = None,
    key: str | None = None,
    built_for: str | None = None,
) -> Layer:
    """Build the layer of a staging tree (or of explicit entries) straight into ``cache``.

    With ``key``, record it so :func:`cached_layer` finds the layer next time (with
    ``built_for``, a note of what it was built for, kept in the record). Raises
    what ``write_layer`` raises; on any error nothing is stored.
    """
    options = options or LayerOptions()
    entries = entries_from_tree(source, hardlinks=options.hardlinks) if isinstance(source, Path) else source
    with cache.writer() as out:
        blob = write_layer(entries, out, options)  # type: ignore[arg-type]
    if key is not None:
        cache.put_layer(key, CachedLayer(digest=blob.digest, diff_id=blob.diff_id, size=blob.size, built_for=built_for))
    digest = blob.digest
    return Layer.from_blob(blob, lambda: cache.open(digest))


def assemble_image(
    base: Image,
    layers: Sequence[NewLayer],
    *,
    runtime: RuntimeConfig | None = None,
    epoch: int,
    annotations: Mapping[str, str] | None = None,
) -> Image:
    """``base`` plus ``layers`` and ``runtime``, as an OCI image.

    The config extends the base's (see ``extend_config``); the manifest lists the
    base's layers (as they are, renamed to OCI media types) then the new ones, each with
    its ``annotations``. Same inputs, same manifest digest.
    """
    config = extend_config(
        base.config_json,
        layers=[LayerHistory(diff_id=n.layer.diff_id, created_by=n.created_by) for n in layers],
        runtime=runtime or RuntimeConfig(),
        epoch=epoch,
    )
    new = (
        dataclasses.replace(n.layer, descriptor=dataclasses.replace(n.layer.descriptor, annotations=dict(n.annotations)))
        for n in layers
    )
    all_layers = (*base.layers, *new)
    manifest = build_manifest(
        config=config, layers=[layer.descriptor for layer in all_layers], annotations=annotations
    )
    return Image(manifest=manifest, config=config, layers=all_layers)
