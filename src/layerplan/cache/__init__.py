"""The local content-addressed cache: blobs by digest, and layer keys -> built layers."""

from layerplan.cache.atomic import atomic_write
from layerplan.cache.store import (
    BlobCache,
    BlobWriter,
    CachedLayer,
    CacheError,
    CacheReport,
    PruneResult,
    default_cache_dir,
)

__all__ = [
    "BlobCache",
    "BlobWriter",
    "CacheError",
    "CacheReport",
    "CachedLayer",
    "PruneResult",
    "atomic_write",
    "default_cache_dir",
]
