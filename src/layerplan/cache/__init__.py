"""The local cache: one content-addressed store (blobs, layer keys, wheels, wheels built
from sdists, records, build environments) whose every area is named in ``layout`` and written atomically."""

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
