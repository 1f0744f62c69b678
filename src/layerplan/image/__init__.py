"""The image stage: reproducible layers, config and manifest, the image model, and what a
base image runs (platform detection)."""

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
