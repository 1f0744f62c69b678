"""The wheel area of the local cache (``layerplan.cache.wheels``), where fetch has always
found it: downloads by sha256 under their real file name."""

from layerplan.cache.layout import default_cache_dir
from layerplan.cache.wheels import WheelCache

__all__ = ["WheelCache", "default_cache_dir"]
