"""Fetch distribution files named by a lock: look up, download, verify, cache by hash.

``fetch_files(wanted)`` (or a reusable ``Fetcher``) turns ``WantedFile``s into
``FetchedFile``s: verified files in a content-addressed cache. See ``model`` for the two
shapes a wanted file takes.

The names are loaded on first use (PEP 562), as in ``layerplan.resolution``: the SBOM
and the layer builder need ``model`` only, and a build that downloads nothing (every
layer cached) never loads the index and download code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from layerplan.fetch.cache import WheelCache, default_cache_dir
    from layerplan.fetch.errors import (
        DownloadError,
        FetchError,
        HashMismatchError,
        IndexLookupError,
        NoMatchingFileError,
        UnhashedFileError,
    )
    from layerplan.fetch.fetcher import Fetcher, FetchStats, fetch_files
    from layerplan.fetch.http import HttpClient
    from layerplan.fetch.index import IndexFile, SimpleIndex
    from layerplan.fetch.model import PYPI_SIMPLE, FetchedFile, Rank, WantedFile, tag_rank

_MODULES = {
    "WheelCache": "cache",
    "default_cache_dir": "cache",
    "DownloadError": "errors",
    "FetchError": "errors",
    "HashMismatchError": "errors",
    "IndexLookupError": "errors",
    "NoMatchingFileError": "errors",
    "UnhashedFileError": "errors",
    "Fetcher": "fetcher",
    "FetchStats": "fetcher",
    "fetch_files": "fetcher",
    "HttpClient": "http",
    "IndexFile": "index",
    "SimpleIndex": "index",
    "PYPI_SIMPLE": "model",
    "FetchedFile": "model",
    "Rank": "model",
    "WantedFile": "model",
    "tag_rank": "model",
}

__all__ = [
    "PYPI_SIMPLE",
    "DownloadError",
    "FetchError",
    "FetchStats",
    "FetchedFile",
    "Fetcher",
    "HashMismatchError",
    "HttpClient",
    "IndexFile",
    "IndexLookupError",
    "NoMatchingFileError",
    "Rank",
    "SimpleIndex",
    "UnhashedFileError",
    "WantedFile",
    "WheelCache",
    "default_cache_dir",
    "fetch_files",
    "tag_rank",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
