"""The image stage: reproducible layers, config and manifest, the image model, and what a
base image runs (platform detection).

The names are loaded on first use (PEP 562): a module that needs the image model or
the manifest does not load the layer writer (tar, compression) with them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from layerplan.image.build import (
        NewLayer,
        assemble_image,
        build_layer_into_cache,
        cached_layer,
    )
    from layerplan.image.cached import cached_image
    from layerplan.image.config import LayerHistory, RuntimeConfig, extend_config
    from layerplan.image.errors import (
        BaseImageError,
        ImageError,
        NoPythonError,
        SymlinkConflictError,
        UnsafePathError,
        UnsupportedEntryError,
    )
    from layerplan.image.index import Platform, is_index, resolve_manifest, select_manifest
    from layerplan.image.manifest import build_manifest, image_annotations
    from layerplan.image.model import Image, Layer, LayerBlob, Opener, bytes_opener
    from layerplan.image.platform import (
        BaseScan,
        DetectedPlatform,
        detect_platform,
        scan_base,
    )
    from layerplan.image.tarlayer import (
        DEFAULT_EPOCH,
        LayerEntry,
        LayerOptions,
        build_layer,
        entries_from_tree,
        source_date_epoch,
        write_layer,
    )

_MODULES = {
    "NewLayer": "build",
    "assemble_image": "build",
    "build_layer_into_cache": "build",
    "cached_layer": "build",
    "cached_image": "cached",
    "LayerHistory": "config",
    "RuntimeConfig": "config",
    "extend_config": "config",
    "BaseImageError": "errors",
    "ImageError": "errors",
    "NoPythonError": "errors",
    "SymlinkConflictError": "errors",
    "UnsafePathError": "errors",
    "UnsupportedEntryError": "errors",
    "Platform": "index",
    "is_index": "index",
    "resolve_manifest": "index",
    "select_manifest": "index",
    "build_manifest": "manifest",
    "image_annotations": "manifest",
    "Image": "model",
    "Layer": "model",
    "LayerBlob": "model",
    "Opener": "model",
    "bytes_opener": "model",
    "BaseScan": "platform",
    "DetectedPlatform": "platform",
    "detect_platform": "platform",
    "scan_base": "platform",
    "DEFAULT_EPOCH": "tarlayer",
    "LayerEntry": "tarlayer",
    "LayerOptions": "tarlayer",
    "build_layer": "tarlayer",
    "entries_from_tree": "tarlayer",
    "source_date_epoch": "tarlayer",
    "write_layer": "tarlayer",
}

__all__ = [
    "DEFAULT_EPOCH",
    "BaseImageError",
    "BaseScan",
    "DetectedPlatform",
    "Image",
    "ImageError",
    "Layer",
    "LayerBlob",
    "LayerEntry",
    "LayerHistory",
    "LayerOptions",
    "NewLayer",
    "NoPythonError",
    "Opener",
    "Platform",
    "RuntimeConfig",
    "SymlinkConflictError",
    "UnsafePathError",
    "UnsupportedEntryError",
    "assemble_image",
    "build_layer",
    "build_layer_into_cache",
    "build_manifest",
    "bytes_opener",
    "cached_image",
    "cached_layer",
    "detect_platform",
    "entries_from_tree",
    "extend_config",
    "image_annotations",
    "is_index",
    "resolve_manifest",
    "scan_base",
    "select_manifest",
    "source_date_epoch",
    "write_layer",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
