"""Compiled bytecode of installed wheels, by a key of what decides the ``.pyc`` bytes.

One directory per key, ``bytecode/<key>/``: the ``.pyc`` files of one wheel as installed
(each at its image path below the entry, ``app/.venv/lib/.../__pycache__/x.cpython-311.pyc``)
and ``bytecode.json`` (the sources that did not compile). The key -- wheel sha256, Python
cache tag and compiling interpreter, install path, optimization levels, invalidation
mode -- is the compiler's business (:mod:`layerplan.install.bytecode`); the store only
keeps entries by it. An entry is made whole in a hidden sibling and renamed
(:func:`~layerplan.cache.atomic.atomic_directory`), so a kill leaves only a temporary.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from layerplan.cache.atomic import atomic_directory
from layerplan.cache.layout import BYTECODE, CacheError

__all__ = ["CompiledEntry", "CompiledBytecode"]

_KEY = re.compile(r"^[0-9a-f]{64}$")
RECORD = "bytecode.json"


@dataclass(frozen=True, kw_only=True, slots=True)
class CompiledEntry:
    """One wheel's compiled files in the store."""

    root: Path
    """The entry's directory; a ``.pyc``'s image path ``/p`` is at ``root / p``."""
    files: tuple[PurePosixPath, ...]
    """Image paths of every ``.pyc`` in the entry, sorted."""
    failed: tuple[PurePosixPath, ...]
    """Image paths of sources that did not compile."""


class CompiledBytecode:
    """The bytecode entries of the cache at ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.directory = BYTECODE.under(Path(root))

    def _entry(self, key: str) -> Path:
        if not _KEY.match(key):
            raise CacheError(f"invalid bytecode key {key!r} (expected 64 lowercase hex digits)")
        return self.directory / key

    def find(self, key: str) -> CompiledEntry | None:
        """The entry ``key``, or ``None``; a hit counts as a use (``prune --older-than``)."""
        entry = self._entry(key)
        try:
            record = json.loads((entry / RECORD).read_text(encoding="utf-8"))
            files = tuple(PurePosixPath(path) for path in record["files"])
            failed = tuple(PurePosixPath(path) for path in record["failed"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent (an entry is never half there), or not ours: compiled again
        with contextlib.suppress(OSError):
            os.utime(entry)
        return CompiledEntry(root=entry, files=files, failed=failed)

    def store(self, key: str, staging: Path, files: Iterable[PurePosixPath], failed: Iterable[PurePosixPath]) -> None:
        """Keep copies of ``files`` (image paths of ``.pyc`` files in the tree ``staging``) as
        the entry ``key``. First writer wins: two compilers of one key write the same bytes."""
        kept = sorted(set(files))
        with atomic_directory(self._entry(key), replace=False) as entry:
            for path in kept:
                relative = path.relative_to("/")
                (entry / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(staging / relative, entry / relative)
            record = {"files": [str(p) for p in kept], "failed": sorted(str(p) for p in failed)}
            (entry / RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

    @staticmethod
    def restore(entry: CompiledEntry, staging: Path) -> None:
        """Put the entry's ``.pyc`` files into the tree ``staging`` at their image paths: hard
        links where the file system allows (the tree is read, then removed; a layer tar holds
        regular files either way), else copies."""
        made: set[Path] = set()
        for path in entry.files:
            relative = path.relative_to("/")
            target = staging / relative
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            try:
                os.link(entry.root / relative, target)
            except OSError:
                shutil.copyfile(entry.root / relative, target)
