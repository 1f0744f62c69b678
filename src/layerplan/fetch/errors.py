"""Errors raised while looking up and downloading distribution files.

They subclass :class:`layerplan.errors.LayerplanError`, so the CLI prints them as one
line with a hint. Each names the package and the URL involved.
"""

from __future__ import annotations

from layerplan.errors import LayerplanError

__all__ = [
    "DownloadError",
    "FetchError",
    "HashMismatchError",
    "IndexLookupError",
    "NoMatchingFileError",
    "UnhashedFileError",
]


class FetchError(LayerplanError):
    """A wanted file could not be fetched."""


class IndexLookupError(FetchError):
    """The package index could not be read: unreachable, 404, or an unreadable page."""


class NoMatchingFileError(FetchError):
    """The index has no file with an allowed hash (or name) that suits the target."""


class DownloadError(FetchError):
    """A file could not be downloaded (after the bounded retries)."""


class HashMismatchError(FetchError):
    """A downloaded file's hash is not one the lock allows. The file is not kept."""

    def __init__(self, *, package: str, url: str, expected: tuple[str, ...], actual: str) -> None:
        self.package = package
        self.url = url
        self.expected = expected
        self.actual = actual
        shown = ", ".join(expected) if len(expected) <= 3 else ", ".join(expected[:3]) + f", ... ({len(expected)} in all)"
        super().__init__(
            f"{package}: hash mismatch for {url}: expected {shown}, got {actual}; the file was discarded",
            hint="the file on the server changed or was corrupted in transit; if the lock is stale, re-lock",
        )


class UnhashedFileError(FetchError):
    """A wanted file has no hash to verify it with, and hashes are required."""
