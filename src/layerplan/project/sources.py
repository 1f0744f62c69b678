"""Content digests of source trees: what keys the app and local-package layers.

Only file *contents* and *relative paths* count (and the executable bit), never mtimes or
the absolute location of the checkout, so two clones give the same digest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["IGNORED_NAMES", "tree_digest"]

IGNORED_NAMES = frozenset(
    {"__pycache__", ".git", ".hg", ".venv", "venv", ".tox", ".nox", ".mypy_cache", ".pytest_cache",
     ".ruff_cache", "dist", "build", "node_modules", ".DS_Store"}
)


def _files(root: Path, relative: Path) -> Iterable[Path]:
    path = root / relative
    if path.is_file():
        yield relative
        return
    for directory, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_NAMES and not d.endswith(".egg-info"))
        for filename in sorted(filenames):
            if filename in IGNORED_NAMES or filename.endswith((".pyc", ".pyo")):
                continue
            yield Path(directory, filename).relative_to(root)


def tree_digest(root: Path, paths: Iterable[Path] = (Path("."),)) -> str:
    """sha256 (hex) over the sorted relative paths, modes and contents below ``paths``."""
    digest = hashlib.sha256()
    files = sorted({f for p in paths for f in _files(root, p)}, key=lambda p: p.as_posix())
    for relative in files:
        full = root / relative
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(b"x" if os.access(full, os.X_OK) else b"-")
        digest.update(hashlib.sha256(full.read_bytes()).digest())
    return digest.hexdigest()
