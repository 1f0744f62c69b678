"""Every name of a temporary layerplan makes, in one place, so that the code making one and
the sweep removing what a killed build left (:mod:`layerplan.cache.sweep`) cannot drift.

There are two families, both made locked (a live writer holds an ``flock`` on them):

* **siblings**, ``.<name>.tmp-<random>``, next to what they become:
  :func:`~layerplan.cache.atomic.atomic_write` and
  :func:`~layerplan.cache.atomic.atomic_directory` (cache entries under ``tmp/``,
  ``build-envs/``, ``built-wheels/``; output archives, layouts and a layout's blobs), and a
  cache entry being pruned (``.<name>.tmp-pruned-*``);
* **scratch**, ``layerplan-<purpose>-<random>`` in ``$TMPDIR``
  (:func:`~layerplan.cache.scratch.scratch_directory`): layer staging trees, sdist and
  wheel builds, blobs of a pull, an engine's saved image.

Nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "GRACE_SECONDS",
    "SCRATCH_PREFIX",
    "TEMP_MARKER",
    "TempPlace",
    "is_scratch_name",
    "is_temp_name",
    "scratch_prefix",
    "sibling_prefix",
]

TEMP_MARKER = ".tmp-"
"""What every sibling temporary's name holds after its target's name."""

SCRATCH_PREFIX = "layerplan-"
"""What every scratch file or directory in ``$TMPDIR`` starts with."""

GRACE_SECONDS = 3600.0
"""A temporary younger than this is never swept, locked or not.

Every temporary is locked by its writer, so the lock is what protects a live build's
work however long it runs (an sdist compiled for an hour). The grace period covers what
the lock cannot: the instant between creating a temporary and locking it, a file system
without ``flock`` (some network mounts report success and lock nothing), and
temporaries of an older layerplan that did not lock them. An hour is far longer than any
of those windows, and short enough that a CI machine's ``$TMPDIR`` sheds a killed build's
staging trees (tens of MB each) on the next build rather than at reboot.
"""

_SIBLING_NAME = 40
"""How much of a target's name its sibling temporaries keep (file names stay short)."""

# tempfile's random part: 8 characters of [a-z0-9_]. A purpose is a plan's layer name, a
# package name or a fixed word; anything else in $TMPDIR is not ours.
_SCRATCH = re.compile(re.escape(SCRATCH_PREFIX) + r"[A-Za-z0-9._-]+-[a-z0-9_]{8}(?:\.[a-z]+)?")
_PURPOSE_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sibling_prefix(name: str) -> str:
    """The start of every sibling temporary of the file or directory called ``name``."""
    return f".{name[:_SIBLING_NAME]}{TEMP_MARKER}"


def is_temp_name(name: str) -> bool:
    """True for a sibling temporary's name (of whatever target)."""
    return name.startswith(".") and TEMP_MARKER in name


def scratch_prefix(purpose: str) -> str:
    """The start of a scratch file or directory's name in ``$TMPDIR`` for ``purpose``."""
    safe = _PURPOSE_UNSAFE.sub("_", purpose)[:_SIBLING_NAME] or "scratch"
    return f"{SCRATCH_PREFIX}{safe}-"


def is_scratch_name(name: str) -> bool:
    """True for the name of a scratch file or directory :func:`scratch_prefix` began."""
    return _SCRATCH.fullmatch(name) is not None


@dataclass(frozen=True, kw_only=True, slots=True)
class TempPlace:
    """A directory where layerplan leaves temporaries, and which of its entries are ours."""

    directory: Path
    prefix: str = "."
    """Only entries whose name starts with this (a sibling of one output: its
    :func:`sibling_prefix`); ``"."``: any sibling temporary."""
    scratch: bool = False
    """``$TMPDIR``: the entries are scratch names, not sibling temporaries."""

    def holds(self, name: str) -> bool:
        """True when ``name`` in :attr:`directory` is one of layerplan's temporaries."""
        if self.scratch:
            return is_scratch_name(name)
        return name.startswith(self.prefix) and is_temp_name(name)
