"""Removing the temporaries a killed build left: in the cache, in ``$TMPDIR``, next to outputs.

A build writes every file through a temporary (:mod:`layerplan.cache.temps` names them
all), so ``kill -9`` leaves no half-written output, but it does leave the temporary: a
``.out.tar.tmp-*`` next to an archive, a ``layerplan-dep-*`` staging tree of tens of MB
in ``$TMPDIR``. Each build (and ``cache prune``) starts by sweeping the places it uses.

A temporary goes only when all of these hold: its name is one layerplan makes, in the
place it makes it; it belongs to this user; it is older than
:data:`~layerplan.cache.temps.GRACE_SECONDS`; and no process holds its lock (every
writer keeps its temporary locked until done, and the kernel drops the lock of a killed
one). Anything else -- a concurrent build's temporary, another program's file, another
user's -- is left alone.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from layerplan._units import format_size
from layerplan.cache.atomic import remove_if_abandoned
from layerplan.cache.layout import AREAS, BLOBS, LEASES, TEMP, is_temporary
from layerplan.cache.temps import GRACE_SECONDS, TempPlace

__all__ = ["Swept", "cache_places", "remove_abandoned_temps", "scratch_places", "sweep"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Swept:
    """What a sweep removed."""

    count: int = 0
    size: int = 0

    def __add__(self, other: Swept) -> Swept:
        return Swept(count=self.count + other.count, size=self.size + other.size)

    def describe(self) -> str:
        """One line for stderr (empty when nothing went)."""
        if not self.count:
            return ""
        plural = "y" if self.count == 1 else "ies"
        return f"layerplan: removed {self.count} temporar{plural} left by interrupted builds ({format_size(self.size)})"


def cache_places(root: Path) -> tuple[TempPlace, ...]:
    """Where the cache at ``root`` has temporaries: its temp areas, and beside the entries
    of the areas written whole (build environments, built wheels) or by older versions."""
    directories = [area.under(root) for area in AREAS if area.temp or area.tree]
    return tuple(TempPlace(directory=d) for d in (*directories, BLOBS.under(root), LEASES.under(root)))


def scratch_places() -> tuple[TempPlace, ...]:
    """``$TMPDIR``, for scratch names only."""
    return (TempPlace(directory=Path(tempfile.gettempdir()), scratch=True),)


def sweep(places: Iterable[TempPlace], *, grace: float = GRACE_SECONDS, now: float | None = None) -> Swept:
    """Remove the abandoned temporaries in ``places`` (see the module); say how many and
    how many bytes. Never raises for a file system error: a temporary that cannot be
    removed stays for a later sweep."""
    cutoff = (time.time() if now is None else now) - grace
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    total = Swept()
    for place in dict.fromkeys(places):
        try:
            entries = [entry for entry in os.scandir(place.directory) if place.holds(entry.name)]
        except OSError:  # missing, not a directory, unreadable: nothing of ours to take
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            kind = stat.S_IFMT(st.st_mode)
            if kind not in (stat.S_IFREG, stat.S_IFDIR):
                continue  # layerplan makes no links, sockets or pipes
            if (uid is not None and st.st_uid != uid) or st.st_mtime >= cutoff:
                continue
            size = _size(Path(entry.path), st)
            try:
                if remove_if_abandoned(Path(entry.path), now=now):
                    total += Swept(count=1, size=size)
            except OSError:
                continue
    return total


def _size(path: Path, st: os.stat_result) -> int:
    """Bytes of a file, or of every file in a tree (best effort: for the message)."""
    if stat.S_ISREG(st.st_mode):
        return st.st_size
    total = 0
    for parent, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_size
            except OSError:
                continue
    return total


def remove_abandoned_temps(root: Path, *, now: float | None = None) -> int:
    """Remove the temporaries in the temp areas whose writer is gone; return how many.

    Whatever their age: a temporary there is made locked and stays locked while its
    writer lives (a lease, a file being written), so one whose lock is free is debris.
    Cheap (no walk of the whole cache), so every build does it when it starts.
    """
    removed = 0
    for area in AREAS:
        if not area.temp:
            continue
        try:
            entries = list(os.scandir(area.under(root)))
        except (FileNotFoundError, NotADirectoryError):
            continue
        removed += sum(remove_if_abandoned(Path(entry.path), now=now) for entry in entries if is_temporary(entry.name))
    return removed
