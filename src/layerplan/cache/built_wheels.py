"""Wheels layerplan built from sdists, by a key of what decides their bytes.

One directory per key, ``built-wheels/<key>/``, holding the wheel under its real file name
(the installer needs it) and ``build.json``, what it was built from and with. An entry is
made whole in a hidden sibling and renamed
(:func:`~layerplan.cache.atomic.atomic_directory`), so a build killed at any moment
leaves only a temporary that lookups never see and ``prune`` removes. What the key
stands for is the builder's business (``layerplan.install.sdist_wheel``); the store only
keeps entries by it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerplan.cache.atomic import atomic_directory
from layerplan.cache.layout import BUILT_WHEELS, CacheError

__all__ = ["BuiltWheel", "BuiltWheels"]

_KEY = re.compile(r"^[0-9a-f]{64}$")
RECORD = "build.json"


@dataclass(frozen=True, kw_only=True, slots=True)
class BuiltWheel:
    """A wheel in the store and the record it was stored with."""

    path: Path
    record: Mapping[str, Any]
    """``build.json``: whatever the builder stored beside the wheel."""


class BuiltWheels:
    """The built wheels of the cache at ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.directory = BUILT_WHEELS.under(self.root)

    def _entry(self, key: str) -> Path:
        if not _KEY.match(key):
            raise CacheError(f"invalid built-wheels key {key!r} (expected 64 lowercase hex digits)")
        return self.directory / key

    def find(self, key: str) -> BuiltWheel | None:
        """The entry ``key``, or ``None``; a hit counts as a use (``prune --older-than``)."""
        entry = self._entry(key)
        try:
            wheels = sorted(name for name in os.listdir(entry) if name.endswith(".whl"))
            record = json.loads((entry / RECORD).read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None  # absent (an entry is never half there), or not ours: built again
        if len(wheels) != 1 or not isinstance(record, dict):
            return None
        with contextlib.suppress(OSError):
            os.utime(entry)
        return BuiltWheel(path=entry / wheels[0], record=record)

    def store(self, key: str, wheel: Path, record: Mapping[str, Any]) -> BuiltWheel:
        """Keep a copy of ``wheel`` and ``record`` as the entry ``key`` (replacing a broken
        one); return where they now are. Raises ``OSError`` when the cache cannot be written."""
        entry = self._entry(key)
        # replace=True: find() only misses an existing entry when it is unreadable; two
        # builders of one key write the same bytes, so either may win.
        with atomic_directory(entry, replace=True) as staging:
            shutil.copyfile(wheel, staging / wheel.name)
            (staging / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return BuiltWheel(path=entry / wheel.name, record=dict(record))
