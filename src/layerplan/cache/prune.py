"""Removing what the cache no longer needs, in every area, without breaking a live build.

What goes:

* always: temporaries whose writer is gone (killed) -- never one a live writer holds
  (see :func:`~layerplan.cache.atomic.remove_if_abandoned`) -- and layer keys whose
  blob is gone;
* ``older_than_days``: every entry not used for that long (a hit refreshes an entry's
  mtime; a build environment's when a build uses it), except a blob that a remaining
  layer key points to;
* ``unreferenced``: blobs no layer key points to, unless used within ``grace_seconds``
  (a build that stored a blob may not have recorded its key yet);
* ``everything``: every entry, whatever its age.

A prune waits for the builds using the cache to end, and keeps new ones waiting until
it is done (:func:`~layerplan.cache.lease.exclusive_use`), so it never removes what a
running build holds. A build environment is renamed to a temporary name before it is
deleted, so a process that does not take a lease never finds half of one either. Nothing that is not layerplan's (``other`` in ``cache info``)
is ever removed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from pathlib import Path

from layerplan._units import format_size
from layerplan.cache.atomic import remove_if_abandoned
from layerplan.cache.blobs import read_key
from layerplan.cache.layout import AREAS, BLOBS, KEYS, TEMP, CacheError, is_temporary
from layerplan.cache.lease import exclusive_use
from layerplan.cache.sweep import remove_abandoned_temps
from layerplan.cache.temps import sibling_prefix
from layerplan.cache.usage import AreaUsage, Item, area_names, scan

__all__ = ["PruneResult", "prune", "remove_abandoned_temps"]


@dataclass(frozen=True, kw_only=True, slots=True)
class PruneResult:
    """What :func:`prune` removed or, with :attr:`dry_run`, would remove."""

    removed: tuple[AreaUsage, ...]
    """One per area name, in layout order (``temp`` counts temporaries)."""
    dry_run: bool

    @property
    def freed_size(self) -> int:
        return sum(area.size for area in self.removed)

    def of(self, name: str) -> AreaUsage:
        """What went from the area called ``name``."""
        return next((area for area in self.removed if area.name == name), AreaUsage(name=name))

    def to_json(self) -> dict[str, Any]:
        """What went (or would go), per area, in bytes: part of ``cache prune --json``."""
        return {
            "dry_run": self.dry_run,
            "removed": {area.name: {"count": area.count, "bytes": area.size} for area in self.removed if area.count},
            "freed_bytes": self.freed_size,
        }

    def describe(self) -> str:
        """One line per area something went from, and the total."""
        verb = "would remove (dry run, nothing removed)" if self.dry_run else "removed"
        rows = [f"  {a.name:<12} {a.count:>6}  {format_size(a.size):>9}" for a in self.removed if a.count]
        total = f"  {'total':<12} {sum(a.count for a in self.removed):>6}  {format_size(self.freed_size):>9}"
        return "\n".join([f"{verb}:", *rows, total] if rows else [f"{verb}: nothing"])


def prune(
    root: Path,
    *,
    everything: bool = False,
    older_than_days: float | None = None,
    unreferenced: bool = False,
    grace_seconds: float = 3600.0,
    dry_run: bool = False,
    now: float | None = None,
    say: Callable[[str], None] | None = None,
) -> PruneResult:
    """Remove what is not needed from the cache at ``root`` (see the module); say what.

    Waits for running builds first (``dry_run``: does not, it removes nothing), telling
    ``say`` how many. Raises ``CacheError`` when the cache cannot be read or an entry
    cannot be removed, ``ValueError`` for a negative ``older_than_days`` (the CLI
    refuses one first).
    """
    if older_than_days is not None and older_than_days < 0:
        raise ValueError(f"older_than_days must be 0 or more, not {older_than_days:g}")
    if dry_run:
        return _prune(root, everything, older_than_days, unreferenced, grace_seconds, dry_run, now)
    with exclusive_use(root, say=say):
        return _prune(root, everything, older_than_days, unreferenced, grace_seconds, dry_run, now)


def _prune(
    root: Path,
    everything: bool,
    older_than_days: float | None,
    unreferenced: bool,
    grace_seconds: float,
    dry_run: bool,
    now: float | None,
) -> PruneResult:
    now = time.time() if now is None else now
    cutoff = None if older_than_days is None else now - older_than_days * 86400
    removed: dict[str, list[int]] = {name: [0, 0] for name in area_names()}

    def take(item: Item, area: str) -> None:
        if dry_run or _remove(item):
            removed[area][0] += 1
            removed[area][1] += item.size

    items = list(scan(root))
    refs: set[str] = set()
    for item in items:
        if item.kind == "temp":
            if remove_if_abandoned(item.path, dry_run=dry_run, now=now):
                removed[TEMP.name][0] += 1
                removed[TEMP.name][1] += item.size
        elif item.kind == "entry" and item.area == KEYS.name:
            layer = read_key(item.path)
            blob = BLOBS.under(root) / layer.digest.hex if layer is not None else None
            if everything or _stale(item, cutoff) or blob is None or not blob.is_file():
                take(item, KEYS.name)
            elif layer is not None:
                refs.add(layer.digest.hex)
    for item in items:
        if item.kind != "entry" or item.area == KEYS.name:
            continue
        if item.area == BLOBS.name:
            if item.path.name in refs:
                continue
            loose = unreferenced and item.mtime < now - grace_seconds
            if everything or _stale(item, cutoff) or loose:
                take(item, BLOBS.name)
        elif everything or _stale(item, cutoff):
            take(item, item.area)
    if not dry_run:
        _remove_empty_fanout(root)
    return PruneResult(
        removed=tuple(AreaUsage(name=name, count=count, size=size) for name, (count, size) in removed.items()),
        dry_run=dry_run,
    )


def _stale(item: Item, cutoff: float | None) -> bool:
    return cutoff is not None and item.mtime < cutoff


def _remove(item: Item) -> bool:
    """Remove an entry; False when another process removed it first."""
    path = item.path
    try:
        if path.is_dir() and not path.is_symlink():
            # Renamed out of the way first: a build that looks the environment up sees
            # all of it or none of it, and a kill mid-delete leaves a temporary.
            doomed = path.with_name(f"{sibling_prefix(path.name)}pruned-{secrets.token_hex(4)}")
            os.rename(path, doomed)
            shutil.rmtree(doomed)
        else:
            path.unlink()
    except FileNotFoundError:
        return False
    except OSError as error:
        raise CacheError(
            f"cannot remove {path}: {error.strerror or error}",
            path=path,
            hint="check the cache directory's permissions",
        ) from error
    return True


def _remove_empty_fanout(root: Path) -> None:
    """Remove the now empty per-digest directories (``keys/<xx>/``, ``wheels/sha256/<hex>/``).

    A writer racing this re-creates its directory (``atomic_write`` retries the rename).
    """
    for area in AREAS:
        if area.depth < 2:
            continue
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            for entry in os.scandir(area.under(root)):
                if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                    with contextlib.suppress(OSError):
                        os.rmdir(entry.path)  # fails, as it should, when not empty
