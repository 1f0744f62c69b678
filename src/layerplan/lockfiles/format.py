"""``LockFormat``: what a lockfile reader plugin provides."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from layerplan.lockfiles.model import Lock

__all__ = ["LockFormat"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LockFormat:
    """A lockfile format: how to recognise its files and how to read one."""

    name: str
    """Short name shown to users and stored in ``Lock.format`` (``uv``, ``pylock``...)."""
    filenames: tuple[str, ...]
    """Glob patterns of file names found by auto-detection, e.g. ``("pylock.toml", "pylock.*.toml")``."""
    read: Callable[[Path], Lock]
    """Read the file; raise ``LockfileError`` (with path and line) on bad input."""
    priority: int = 100
    """Auto-detection order when a project holds several lockfiles: lower wins."""
    explicit_filenames: tuple[str, ...] = ()
    """Extra patterns accepted only when the user names the file (``--lock prod.txt``)."""

    def detects(self, path: Path) -> bool:
        """True when auto-detection should pick ``path`` for this format."""
        return any(fnmatch.fnmatchcase(path.name, pattern) for pattern in self.filenames)

    def accepts(self, path: Path) -> bool:
        """True when a file the user named explicitly is of this format."""
        return self.detects(path) or any(
            fnmatch.fnmatchcase(path.name, pattern) for pattern in self.explicit_filenames
        )
