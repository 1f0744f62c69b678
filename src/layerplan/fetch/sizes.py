"""Wheel sizes the lock does not record, read from the index (PEP 700 ``size``).

poetry.lock, pdm.lock, Pipfile.lock and requirements.txt name files or hashes but not
sizes, and without a size the planner cannot tell that numpy deserves a layer of its
own. The simple API lists every file's size; a file never changes once uploaded, so a
size is cached forever by the file's sha256 (the store's ``sizes`` records).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from layerplan.cache.store import Store
from layerplan.fetch.errors import FetchError
from layerplan.fetch.http import HttpClient
from layerplan.fetch.index import IndexFile, SimpleIndex
from layerplan.fetch.model import PYPI_SIMPLE, Rank, parse_hashes, tag_rank
from layerplan.selection.model import InstallItem, InstallSet

__all__ = ["IndexSizes"]

log = logging.getLogger(__name__)


def _sha256s(hashes: Iterable[str]) -> frozenset[str]:
    return parse_hashes(hashes).get("sha256", frozenset())


class IndexSizes:
    """``lookup(install_set, items)``: name -> size of the wheel each item will install."""

    def __init__(self, cache_dir: Path, *, jobs: int = 8) -> None:
        self.records = Store(cache_dir).sizes
        self.jobs = jobs

    def lookup(self, install_set: InstallSet, items: Sequence[InstallItem]) -> dict[str, int]:
        """Sizes of the wheels ``items`` will install on ``install_set``'s target, asking
        the lock's indexes (else PyPI), or the one an item names.

        An item with a chosen wheel gets that file's size; a hashes-only item the size of
        the best-ranked file among its allowed hashes (what the build will fetch). Items
        whose size stays unknown (index unreachable, no match) are left out: the plan then
        treats them as small and says so.
        """
        wanted = [item for item in items if item.size is None and item.choice in ("wheel", "lookup") and item.hashes]
        indexes = install_set.indexes or (PYPI_SIMPLE,)
        rank = tag_rank(install_set.target.wheel_tags())
        found: dict[str, int] = {}
        missing: list[InstallItem] = []
        for item in wanted:
            cached = self._best(item, self._cached(item), rank)
            if cached is None:
                missing.append(item)
            else:
                found[str(item.name)] = cached.size or 0
        if not missing:
            return found
        with (
            HttpClient(pool_size=self.jobs) as http,  # closed after the pool's threads are done
            ThreadPoolExecutor(self.jobs, thread_name_prefix="layerplan-sizes") as pool,
        ):
            index = SimpleIndex(http)
            results = pool.map(lambda item: (item, self._from_index(index, item, rank, indexes)), missing)
            for item, size in results:
                if size is not None:
                    found[str(item.name)] = size
        return found

    def _cached(self, item: InstallItem) -> list[IndexFile]:
        """The files of ``item``'s allowed hashes seen before; empty unless all were."""
        files = []
        for digest in sorted(_sha256s(item.hashes)):
            try:
                record = self.records.get(digest)
                if record is None:
                    return []
                size, filename = record.decode("utf-8").split(" ", 1)
                files.append(IndexFile(filename=filename, url="", hashes=(f"sha256:{digest}",), size=int(size)))
            except (OSError, ValueError):
                return []
        return files

    def _from_index(self, index: SimpleIndex, item: InstallItem, rank: Rank, indexes: Sequence[str]) -> int | None:
        allowed = _sha256s(item.hashes)
        for url in (item.index,) if item.index else indexes:
            try:
                files = index.files(url, str(item.name)) or ()
            except FetchError as exc:
                log.info("no sizes for %s from %s: %s", item.name, url, exc)
                continue
            matching = [f for f in files if f.size is not None and _sha256s(f.hashes) & allowed]
            for file in matching:
                self._remember(file)
            best = self._best(item, matching, rank)
            if best is not None:
                return best.size
        return None

    def _best(self, item: InstallItem, files: Sequence[IndexFile], rank: Rank) -> IndexFile | None:
        """The file the build will install: the lock's choice, else the best-ranked one."""
        if item.wheel is not None and item.wheel.hashes:
            chosen = _sha256s(item.wheel.hashes)
            return next((f for f in files if _sha256s(f.hashes) & chosen), None)
        ranked = [(rank(f.filename), f) for f in files]
        usable = [(r, f) for r, f in ranked if r is not None]
        return min(usable, key=lambda pair: (pair[0], pair[1].filename))[1] if usable else None

    def _remember(self, file: IndexFile) -> None:
        for digest in _sha256s(file.hashes):
            if self.records.valid(digest) and not self.records.has(digest):
                try:
                    self.records.put(digest, f"{file.size} {file.filename}".encode())
                except OSError:
                    return  # a read-only cache only costs a lookup next time
