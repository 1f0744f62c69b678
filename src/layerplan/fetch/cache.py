"""A content-addressed cache of downloaded files: ``<root>/wheels/sha256/<hex>/<filename>``.

A file appears under its final name only after it was fully written, fsynced and
verified (written to ``<root>/wheels/tmp/`` first, then renamed), so a build killed at
any moment leaves at worst a temp file, which lookups never see and ``clean_temp``
removes. Entries are never modified; two processes storing the same file race
harmlessly (same bytes, atomic rename).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from layerplan.cache.atomic import fsync_dir
from layerplan.cache.store import default_cache_dir

__all__ = ["WheelCache", "default_cache_dir"]

_HEX = re.compile(r"^[0-9a-f]{64}$")
_TEMP_SUFFIX = ".part"
_STALE_SECONDS = 24 * 3600


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


class WheelCache:
    """Files by sha256 under ``root/wheels``; ``root`` is created on first write."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.files_dir = self.root / "wheels" / "sha256"
        self.names_dir = self.root / "wheels" / "names"
        self.temp_dir = self.root / "wheels" / "tmp"

    def path_for(self, sha256: str, filename: str) -> Path:
        """Where the file with this digest and name lives (whether or not it is there)."""
        if not _HEX.match(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        if "/" in filename or "\\" in filename or filename in ("", ".", ".."):
            raise ValueError(f"not a plain file name: {filename!r}")
        return self.files_dir / sha256 / filename

    def find(self, sha256: str, filename: str | None = None) -> Path | None:
        """The cached file with this digest (and name, when given), or ``None``."""
        if not _HEX.match(sha256):
            return None
        if filename is not None:
            path = self.path_for(sha256, filename)
            return path if path.is_file() else None
        try:
            names = sorted(entry.name for entry in os.scandir(self.files_dir / sha256) if entry.is_file())
        except FileNotFoundError:
            return None
        return self.files_dir / sha256 / names[0] if names else None

    @contextmanager
    def writer(self, filename: str) -> Iterator[BinaryIO]:
        """A temp file to download into. Call ``commit`` with it to keep it; it is removed
        otherwise (an exception, or no commit)."""
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below
            dir=self.temp_dir, prefix=f"{filename}.{os.getpid()}.", suffix=_TEMP_SUFFIX, delete=False
        )
        try:
            yield handle  # type: ignore[misc]
        finally:
            handle.close()
            try:
                os.unlink(handle.name)
            except FileNotFoundError:
                pass  # committed

    def commit(self, handle: BinaryIO, sha256: str, filename: str) -> Path:
        """Flush, fsync and move a ``writer`` file to its final place; return that place."""
        target = self.path_for(sha256, filename)
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(handle.name, target)
        fsync_dir(target.parent)
        return target

    def remember_name(self, sha256: str, filename: str) -> None:
        """Record that the index lists ``filename`` with this digest (for offline lookups)."""
        if not _HEX.match(sha256) or self.known_name(sha256) == filename:
            return
        self.names_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=self.names_dir, prefix=f".{sha256}.", suffix=_TEMP_SUFFIX, delete=False, encoding="utf-8"
        ) as handle:
            handle.write(filename)
        os.replace(handle.name, self.names_dir / sha256)

    def known_name(self, sha256: str) -> str | None:
        """The file name seen for this digest: a cached file's, or one ``remember_name`` kept."""
        if not _HEX.match(sha256):
            return None
        found = self.find(sha256)
        if found is not None:
            return found.name
        try:
            return (self.names_dir / sha256).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def clean_temp(self, *, now: float | None = None) -> int:
        """Remove temp files left by dead processes (or older than a day); return how many."""
        removed = 0
        now = time.time() if now is None else now
        for directory in (self.temp_dir, self.names_dir):
            try:
                entries = [entry for entry in os.scandir(directory) if entry.name.endswith(_TEMP_SUFFIX)]
            except FileNotFoundError:
                continue
            for entry in entries:
                try:
                    stale = now - entry.stat().st_mtime > _STALE_SECONDS
                except FileNotFoundError:
                    continue
                # Download temp names are ``<filename>.<pid>.<random>.part``.
                pid = entry.name[: -len(_TEMP_SUFFIX)].rsplit(".", 2)[-2:][0]
                dead = directory == self.temp_dir and pid.isdigit() and not _pid_alive(int(pid))
                if stale or dead:
                    try:
                        os.unlink(entry.path)
                        removed += 1
                    except FileNotFoundError:
                        pass
        return removed
