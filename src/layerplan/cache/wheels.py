"""Downloaded files by sha256, under their real file name (the installer needs it).

A file appears under its final name only once it was fully written, fsynced and
verified (:func:`~layerplan.cache.atomic.atomic_write` through ``tmp/``), so a build
killed at any moment leaves at worst a temporary, which lookups never see and prune
removes. Entries are never modified; two processes storing the same file race harmlessly
(same bytes, atomic rename).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from layerplan.cache.atomic import atomic_write
from layerplan.cache.layout import NAMES, TEMP, WHEELS
from layerplan.cache.records import Records

__all__ = ["WheelCache", "WheelWriter"]

_HEX = re.compile(r"^[0-9a-f]{64}$")


class WheelWriter:
    """A download in progress; see :meth:`WheelCache.writer`."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.dest: Path | None = None
        """Where the file goes when the ``with`` block ends; ``None``: it is dropped."""

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self._handle.write(data)


class WheelCache:
    """Files by sha256 in the cache at ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.files_dir = WHEELS.under(self.root)
        self.names = Records(self.root, NAMES)

    def path_for(self, sha256: str, filename: str) -> Path:
        """Where the file with this digest and name lives (whether or not it is there)."""
        if not _HEX.match(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        if "/" in filename or "\\" in filename or filename.startswith(".") or not filename:
            raise ValueError(f"not a plain file name: {filename!r}")
        return self.files_dir / sha256 / filename

    def find(self, sha256: str, filename: str | None = None) -> Path | None:
        """The cached file with this digest (and name, when given), or ``None``; a hit
        counts as a use."""
        if not _HEX.match(sha256):
            return None
        if filename is not None:
            path = self.path_for(sha256, filename)
            found = path if path.is_file() else None
        else:
            try:
                names = sorted(
                    entry.name
                    for entry in os.scandir(self.files_dir / sha256)
                    if entry.is_file() and not entry.name.startswith(".")
                )
            except (FileNotFoundError, NotADirectoryError):
                return None
            found = self.files_dir / sha256 / names[0] if names else None
        if found is not None:
            with contextlib.suppress(OSError):
                os.utime(found)  # "last used", for prune --older-than
        return found

    @contextlib.contextmanager
    def writer(self, filename: str) -> Iterator[WheelWriter]:
        """A temporary file to download into. Call :meth:`commit` with it to keep it
        (it is placed when the block ends); it is dropped otherwise (an exception, or no
        commit)."""
        with atomic_write(lambda: out.dest, temp_dir=TEMP.under(self.root), label=filename) as handle:
            out = WheelWriter(handle)
            yield out

    def commit(self, out: WheelWriter, sha256: str, filename: str) -> Path:
        """Keep what ``out`` holds (verified by the caller) as ``sha256``/``filename`` when
        its ``writer`` block ends; return where it will then be."""
        out.dest = self.path_for(sha256, filename)
        return out.dest

    def remember_name(self, sha256: str, filename: str) -> None:
        """Record that the index lists ``filename`` with this digest (for offline lookups)."""
        if not _HEX.match(sha256) or self.known_name(sha256) == filename:
            return
        self.names.put(sha256, filename.encode())

    def known_name(self, sha256: str) -> str | None:
        """The file name seen for this digest: a cached file's, or one ``remember_name`` kept."""
        if not _HEX.match(sha256):
            return None
        found = self.find(sha256)
        if found is not None:
            return found.name
        data = self.names.get(sha256)
        return (data.decode("utf-8", "replace").strip() or None) if data is not None else None

    def clean_temp(self, *, now: float | None = None) -> int:
        """Remove temporary files whose writer is gone (killed); return how many."""
        from layerplan.cache.sweep import remove_abandoned_temps

        return remove_abandoned_temps(self.root, now=now)
