"""Fetch distribution files named by a lock: look up, download, verify, cache by hash.

``fetch_files(wanted)`` (or a reusable ``Fetcher``) turns ``WantedFile``s into
``FetchedFile``s: verified files in a content-addressed cache. See ``model`` for the two
shapes a wanted file takes.
"""

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
