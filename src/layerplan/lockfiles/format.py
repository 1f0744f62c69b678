"""``LockFormat``: what a lockfile reader plugin provides."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from layerplan.lockfiles.model import Lock

__all__ = ["BUILTIN_FORMATS", "LockFormat", "builtin_format"]


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


BUILTIN_FORMATS: dict[str, tuple[tuple[str, ...], int, tuple[str, ...]]] = {
    "uv": (("uv.lock",), 10, ()),
    "pylock": (("pylock.toml", "pylock.*.toml"), 20, ()),
    "poetry": (("poetry.lock",), 30, ()),
    "pdm": (("pdm.lock",), 40, ()),
    "pipfile": (("Pipfile.lock",), 50, ()),
    "requirements": (("requirements.txt", "requirements.lock"), 60, ("*.txt",)),
}
"""Built-in format name -> (file names, priority, explicit file names): the one place they
are said. Each reader declares its format from here, and the plugin manager's stand-ins
find a lockfile with it without importing any reader."""


def builtin_format(name: str, read: Callable[[Path], Lock]) -> LockFormat:
    """The built-in format ``name`` (from ``BUILTIN_FORMATS``), read by ``read``."""
    filenames, priority, explicit = BUILTIN_FORMATS[name]
    return LockFormat(name=name, filenames=filenames, read=read, priority=priority, explicit_filenames=explicit)
