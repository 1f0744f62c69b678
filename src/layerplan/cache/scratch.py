"""Scratch space in ``$TMPDIR``: layer staging trees, sdist builds, pulled blobs.

Each scratch directory is named by :func:`~layerplan.cache.temps.scratch_prefix` and
locked for as long as it is used, like a cache temporary, so the sweep at the start of
the next build (:mod:`layerplan.cache.sweep`) removes what a killed build left and never
what a running one uses, however long it has run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from layerplan.cache.atomic import locked_temp_dir, locked_temp_file
from layerplan.cache.temps import scratch_prefix

__all__ = ["ScratchDirectory", "scratch_directory", "scratch_file"]


class ScratchDirectory:
    """A locked scratch directory in ``$TMPDIR`` (:attr:`path`), removed by :meth:`cleanup`."""

    def __init__(self, purpose: str) -> None:
        self.path, self._lock = locked_temp_dir(Path(tempfile.gettempdir()), scratch_prefix(purpose))

    def cleanup(self) -> None:
        """Remove the directory and all in it (once; later calls do nothing)."""
        if self._lock < 0:
            return
        try:
            shutil.rmtree(self.path, ignore_errors=True)
        finally:
            os.close(self._lock)  # unlocked only once it is gone: a sweep never races the rmtree
            self._lock = -1


@contextlib.contextmanager
def scratch_directory(purpose: str) -> Iterator[Path]:
    """Yield a new, locked directory in ``$TMPDIR`` for ``purpose``; removed when the block ends."""
    scratch = ScratchDirectory(purpose)
    try:
        yield scratch.path
    finally:
        scratch.cleanup()


@contextlib.contextmanager
def scratch_file(purpose: str, *, directory: Path | None = None, suffix: str = "") -> Iterator[tuple[int, Path]]:
    """Yield ``(descriptor, path)`` of a new, locked, empty file in ``directory`` (default
    ``$TMPDIR``) for ``purpose``; it is removed and the descriptor closed when the block ends."""
    fd, path = locked_temp_file(directory or Path(tempfile.gettempdir()), scratch_prefix(purpose), suffix)
    try:
        yield fd, Path(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            os.close(fd)
