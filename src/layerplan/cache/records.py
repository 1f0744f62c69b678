"""Small records in the cache: one whole file per key (a sha256), never half of one.

What the index says about a file (its name, its size) and what a base image holds (its
platform) never change for a given digest, so each is written once and read many times.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from layerplan.cache.atomic import atomic_write
from layerplan.cache.layout import TEMP, Area, CacheError

__all__ = ["Records"]


class Records:
    """The records of one area of the cache at ``root`` (created on first write)."""

    def __init__(self, root: Path, area: Area) -> None:
        self.root = Path(root)
        self.area = area

    def path(self, key: str) -> Path:
        """Where the record ``key`` lives; ``CacheError`` for a key the area cannot hold."""
        if not self.valid(key):
            raise CacheError(f"invalid {self.area.name} record key {key!r} (expected a digest's lowercase hex digits)")
        return self.area.under(self.root) / f"{key}{self.area.suffix}"

    def valid(self, key: str) -> bool:
        """True when ``key`` can name a record of this area."""
        return self.area.pattern.fullmatch(f"{key}{self.area.suffix}") is not None

    def has(self, key: str) -> bool:
        """True when the record ``key`` is there (never for a key the area cannot hold)."""
        return self.valid(key) and self.path(key).is_file()

    def get(self, key: str) -> bytes | None:
        """The record's bytes, or ``None`` when there is none (never one for a key the area
        cannot hold); a hit counts as a use."""
        if not self.valid(key):
            return None
        path = self.path(key)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # "last used", for prune --older-than
        return data

    def put(self, key: str, data: bytes, *, durable: bool = True) -> None:
        """Store ``data`` as the record ``key`` (replacing any); raises ``OSError`` when the
        cache cannot be written. ``durable=False``: not flushed to disk (see ``atomic_write``),
        for a record that may be lost in a crash."""
        temp_dir = TEMP.under(self.root)
        with atomic_write(self.path(key), temp_dir=temp_dir, label=self.area.name, durable=durable) as out:
            out.write(data)
