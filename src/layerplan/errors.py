"""The one root error of layerplan and its narrow subclasses.

Every error a user can cause (bad input, a missing file, a lock that does not fit the
project) is a ``LayerplanError``. It carries *where* (file, line, key) and *how to fix*,
so the CLI can print it as one line and exit with code 2. Anything else that escapes is
a bug.
"""

from __future__ import annotations

import errno
from pathlib import Path

from layerplan.urls import public_text

__all__ = [
    "ConfigError",
    "DiskFullError",
    "LayerplanError",
    "LockfileError",
    "LockMismatchError",
    "NoWheelError",
    "PluginError",
    "ProjectError",
    "TargetError",
    "disk_full",
]

_FULL = (errno.ENOSPC, errno.EDQUOT)


_MESSAGE_LIMIT = 500
"""Characters of a message shown before it is cut (the hint is always shown whole)."""
_KEY_LIMIT = 200


class LayerplanError(Exception):
    """Root of every error layerplan raises on purpose.

    ``str(error)`` is the one line a user sees: ``where: what (hint: how to fix)``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.key = key
        self.hint = hint

    @property
    def where(self) -> str:
        """``file:line`` (or just the file), with the key when one is known."""
        parts = []
        if self.path is not None:
            parts.append(f"{self.path}:{self.line}" if self.line else str(self.path))
        if self.key:
            key = self.key if len(self.key) <= _KEY_LIMIT else f"{self.key[:_KEY_LIMIT]}..."
            parts.append(f"`{key}`")
        return " ".join(parts)

    def __str__(self) -> str:
        # No credential, whatever URL a quoted value holds (CI logs are widely read);
        # removed before the cut, which could otherwise split a URL and keep its password.
        message = public_text(self.message)
        if len(message) > _MESSAGE_LIMIT:  # a quoted value can be megabytes (a damaged file)
            message = f"{message[:_MESSAGE_LIMIT]}... ({len(message) - _MESSAGE_LIMIT} more characters)"
        text = f"{self.where}: {message}" if self.where else message
        if self.hint:
            text += f" (hint: {self.hint})"
        # One line, whatever a quoted value or a wrapped library message holds (the key and
        # the hint may quote the file too), and no control character: a registry's answer
        # can hold an escape sequence, which would reach the terminal.
        if not text.isprintable():
            text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
        return public_text(text)


class ProjectError(LayerplanError):
    """The project (``pyproject.toml``, its sources) is missing or invalid."""


class ConfigError(LayerplanError):
    """A ``[tool.layerplan]`` option (or a CLI option) has a wrong value."""


class LockfileError(LayerplanError):
    """A lockfile cannot be read: bad syntax, unknown version, invalid entry."""


class LockMismatchError(LayerplanError):
    """The lock does not match the project (a dependency is missing from it)."""


class TargetError(LayerplanError):
    """The target platform is invalid or unsupported."""


class NoWheelError(LayerplanError):
    """A locked package has no wheel that installs on the target."""


class PluginError(LayerplanError):
    """A plugin failed to load or returned something invalid."""


class DiskFullError(LayerplanError):
    """A file system filled up (or a quota ran out) while layerplan wrote to it."""


def disk_full(error: BaseException, where: Path | str | None = None) -> DiskFullError | None:
    """The ``DiskFullError`` for ``error`` when it is ENOSPC/EDQUOT, else ``None``.

    ``where`` names what was being written when the error does not (``write()`` errors
    carry no file name); the message names the file and the hint the two places a user
    can move: the cache (``LAYERPLAN_CACHE_DIR``, ``--cache-dir``) and scratch space
    (``TMPDIR``).
    """
    if not isinstance(error, OSError) or error.errno not in _FULL:
        return None
    target = error.filename or where
    what = "no space left on device" if error.errno == errno.ENOSPC else "disk quota exceeded"
    return DiskFullError(
        f"{what} writing {target}" if target else what,
        hint="free space on that file system, or point the cache (--cache-dir, LAYERPLAN_CACHE_DIR) "
        "or scratch space (TMPDIR) at a larger one",
    )
