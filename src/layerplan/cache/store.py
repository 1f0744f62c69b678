"""The local cache: one content-addressed store, shared by concurrent processes.

Every area is named in :mod:`layerplan.cache.layout`; every file is written by
:func:`~layerplan.cache.atomic.atomic_write` (a locked temporary under ``tmp/``,
fsynced, renamed); :meth:`Store.report` and :meth:`Store.prune` see all of it. Callers
reach an area through the store's accessors, never by building a path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from layerplan.cache.blobs import BlobCache, BlobWriter, CachedLayer
from layerplan.cache.built_wheels import BuiltWheels
from layerplan.cache.bytecode import CompiledBytecode
from layerplan.cache.layout import BUILD_ENVS, INTERPRETERS, LICENSES, PLATFORMS, SIZES, CacheError, default_cache_dir
from layerplan.cache.lease import build_lease
from layerplan.cache.locations import BlobLocations
from layerplan.cache.records import Records
from layerplan.cache.wheels import WheelCache

if TYPE_CHECKING:  # ``cache info``/``prune`` only: a build does not load them
    from layerplan.cache.prune import PruneResult
    from layerplan.cache.usage import AreaUsage, CacheReport

__all__ = [
    "BlobCache",
    "BlobLocations",
    "BlobWriter",
    "CacheError",
    "CachedLayer",
    "Store",
    "default_cache_dir",
]


class Store:
    """The cache rooted at ``root`` (default :func:`default_cache_dir`; created on first write)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.blobs = BlobCache(self.root)
        """Blobs by digest, and layer keys -> built layers."""
        self.wheels = WheelCache(self.root)
        """Downloaded files by sha256 and file name, and the names the index gives digests."""
        self.sizes = Records(self.root, SIZES)
        """``b"<size> <filename>"`` the index gives a file's sha256."""
        self.platforms = Records(self.root, PLATFORMS)
        """JSON: what a base image (by digest hex) holds."""
        self.locations = BlobLocations(self.root)
        """Which repositories of which registries hold a blob: where a push can mount it from."""
        self.built_wheels = BuiltWheels(self.root)
        """Wheels built from sdists, each with its build record, by a key of what decides them."""
        self.bytecode = CompiledBytecode(self.root)
        """The ``.pyc`` files of installed wheels, by a key of what decides them."""
        self.interpreters = Records(self.root, INTERPRETERS)
        """What probing a Python executable said, by the executable's identity (path, inode,
        size, mtime): a build need not start every candidate interpreter again."""
        self.licenses = Records(self.root, LICENSES)
        """JSON: the licenses the SBOM read from a wheel or a layer, by a key of what was read
        (its digest) and how (``layerplan.sbom.license_records``)."""

    @property
    def build_envs(self) -> Path:
        """The directory of cached PEP 517 build environments, one directory per key,
        each made whole by :func:`~layerplan.cache.atomic.atomic_directory`; whoever uses
        one refreshes its mtime (its last use, for prune)."""
        return BUILD_ENVS.under(self.root)

    def lease(self, *, say: Callable[[str], None] | None = None) -> contextlib.AbstractContextManager[None]:
        """Hold the cache for a build while the block runs, so ``prune`` waits for it (and
        it for a prune already running); see :mod:`layerplan.cache.lease`."""
        return build_lease(self.root, say=say)

    def report(self) -> CacheReport:
        """Count and size every area, and what is not layerplan's; ``CacheError`` when the
        root is not a readable directory."""
        from layerplan.cache.usage import report

        return report(self.root)

    def prune(
        self,
        *,
        everything: bool = False,
        older_than_days: float | None = None,
        unreferenced: bool = False,
        grace_seconds: float = 3600.0,
        dry_run: bool = False,
        now: float | None = None,
        say: Callable[[str], None] | None = None,
    ) -> PruneResult:
        """See :func:`layerplan.cache.prune.prune`."""
        from layerplan.cache.prune import prune

        return prune(
            self.root,
            everything=everything,
            older_than_days=older_than_days,
            unreferenced=unreferenced,
            grace_seconds=grace_seconds,
            dry_run=dry_run,
            now=now,
            say=say,
        )
