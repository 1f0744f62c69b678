"""The local cache: one content-addressed store (blobs, layer keys, wheels, wheels built
from sdists, records, build environments) whose every area is named in ``layout`` and written atomically.

The names are loaded on first use (PEP 562), as in ``layerplan.resolution``: a build
imports ``cache.store`` (so this package) and needs neither ``prune`` nor ``usage``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from layerplan.cache.atomic import atomic_directory, atomic_write
    from layerplan.cache.blobs import BlobCache, BlobWriter, CachedLayer
    from layerplan.cache.built_wheels import BuiltWheel, BuiltWheels
    from layerplan.cache.layout import CacheError, default_cache_dir
    from layerplan.cache.locations import BlobLocations
    from layerplan.cache.prune import PruneResult
    from layerplan.cache.records import Records
    from layerplan.cache.store import Store
    from layerplan.cache.usage import AreaUsage, CacheReport
    from layerplan.cache.wheels import WheelCache

_MODULES = {
    "atomic_directory": "atomic",
    "atomic_write": "atomic",
    "BlobCache": "blobs",
    "BlobWriter": "blobs",
    "CachedLayer": "blobs",
    "BuiltWheel": "built_wheels",
    "BuiltWheels": "built_wheels",
    "CacheError": "layout",
    "default_cache_dir": "layout",
    "BlobLocations": "locations",
    "PruneResult": "prune",
    "Records": "records",
    "Store": "store",
    "AreaUsage": "usage",
    "CacheReport": "usage",
    "WheelCache": "wheels",
}

__all__ = [
    "AreaUsage",
    "BlobCache",
    "BlobLocations",
    "BlobWriter",
    "BuiltWheel",
    "BuiltWheels",
    "CacheError",
    "CacheReport",
    "CachedLayer",
    "PruneResult",
    "Records",
    "Store",
    "WheelCache",
    "atomic_directory",
    "atomic_write",
    "default_cache_dir",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
