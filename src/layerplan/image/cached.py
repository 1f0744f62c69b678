"""The blob cache wrapped around an image: layers open through it, the image knows nothing of it.

Like go-containerregistry's ``cache.Image(img, c)``: a base image pulled from a
registry opens each layer lazily over the network; wrapped, the first open stores the
blob in the cache (verified against its digest) and every later open, in this build or
the next, reads the local copy. A layer nobody opens (a push to the registry that
already has it, or mounts it) is never downloaded.
"""

from __future__ import annotations

import dataclasses
from typing import IO

from layerplan.cache.store import BlobCache
from layerplan.image.model import Image, Layer, Opener

__all__ = ["cached_image"]


def cached_image(image: Image, cache: BlobCache) -> Image:
    """``image`` with every layer opening through ``cache``; manifest, config and origins unchanged."""
    return dataclasses.replace(image, layers=tuple(_cached_layer(layer, cache) for layer in image.layers))


def _cached_layer(layer: Layer, cache: BlobCache) -> Layer:
    if layer.digest.algorithm != "sha256":
        return layer  # the cache is keyed by sha256 only; such a layer opens from its source each time
    digest, fetch = layer.digest, layer.opener

    def open_blob() -> IO[bytes]:
        if not cache.has(digest):
            with fetch() as stream:
                cache.put_stream(stream, expected=digest)  # type: ignore[arg-type]
        return cache.open(digest)

    opener: Opener = open_blob
    return dataclasses.replace(layer, opener=opener)
