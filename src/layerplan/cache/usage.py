"""What the cache holds: every file under the root, sorted into the areas of the layout.

One walk classifies each path once (an area's entry, a temporary, or something that is
not layerplan's), so ``cache info`` adds up to what ``du --apparent-size`` says for the
files, and ``cache prune`` decides on exactly what ``info`` counted.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from layerplan._units import format_size
from layerplan.cache.blobs import read_key
from layerplan.cache.layout import AREAS, BLOBS, KEYS, TEMP, Area, CacheError, is_temporary

__all__ = ["OTHER", "AreaUsage", "CacheReport", "Item", "report", "scan"]

OTHER = "other"
"""The name ``cache info`` gives what is under the root but not layerplan's."""

Kind = Literal["entry", "temp", "other"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Item:
    """One thing under the cache root, as :func:`scan` found it."""

    area: str
    """The area's name; the temp area's for any temporary, :data:`OTHER` for what is not ours."""
    kind: Kind
    path: Path
    size: int
    """Bytes of the file, or of every file in the tree (a hard-linked file once, as ``du``)."""
    mtime: float
    """Last use: the file's mtime (a tree: its directory's)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AreaUsage:
    """How many entries an area has and how many bytes they hold."""

    name: str
    count: int = 0
    size: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class CacheReport:
    """What the cache at :attr:`root` holds (see :func:`report`)."""

    root: Path
    areas: tuple[AreaUsage, ...]
    """One per area name, in layout order, then :data:`OTHER` (counted in files)."""
    unreferenced: AreaUsage
    """The blobs no layer key points to (pulled base layers, layers whose key went)."""

    @property
    def total_size(self) -> int:
        """Bytes of every file under the root."""
        return sum(area.size for area in self.areas)

    def of(self, name: str) -> AreaUsage:
        """The usage of the area called ``name`` (zero when it has none)."""
        return next((area for area in self.areas if area.name == name), AreaUsage(name=name))

    def to_json(self) -> dict[str, Any]:
        """The ``cache info --json`` document (sizes in bytes)."""
        return {
            "schema": "layerplan.cache/1",
            "root": str(self.root),
            "areas": {area.name: {"count": area.count, "bytes": area.size} for area in self.areas},
            "unreferenced_blobs": {"count": self.unreferenced.count, "bytes": self.unreferenced.size},
            "total_bytes": self.total_size,
        }

    def describe(self) -> str:
        """A few human-readable lines: one per area, and the total in bytes."""
        lines = [f"cache: {self.root}"]
        for area in self.areas:
            line = _row(area.name, area.count, area.size)
            if area.name == BLOBS.name and self.unreferenced.count:
                line += f"  ({self.unreferenced.count} not referenced by a layer key: {format_size(self.unreferenced.size)})"
            lines.append(line)
        lines.append(_row("total", sum(a.count for a in self.areas), self.total_size) + f"  ({self.total_size} bytes)")
        return "\n".join(lines)


def _row(name: str, count: int, size: int) -> str:
    return f"  {name:<12} {count:>6}  {format_size(size):>9}"


def area_names() -> tuple[str, ...]:
    """Every area's name once, in layout order."""
    return tuple(dict.fromkeys(area.name for area in AREAS))


def report(root: Path) -> CacheReport:
    """Count every file under ``root`` by area; ``CacheError`` when it cannot be read."""
    counts: dict[str, list[int]] = {name: [0, 0] for name in (*area_names(), OTHER)}
    keys, blobs = [], []
    for item in scan(root):
        counts[item.area][0] += 1
        counts[item.area][1] += item.size
        if item.kind == "entry" and item.area == KEYS.name:
            keys.append(item)
        elif item.kind == "entry" and item.area == BLOBS.name:
            blobs.append(item)
    referenced = {layer.digest.hex for item in keys if (layer := read_key(item.path)) is not None}
    loose = [item for item in blobs if item.path.name not in referenced]
    return CacheReport(
        root=root,
        areas=tuple(AreaUsage(name=name, count=count, size=size) for name, (count, size) in counts.items()),
        unreferenced=AreaUsage(name="unreferenced", count=len(loose), size=sum(item.size for item in loose)),
    )


def scan(root: Path) -> Iterator[Item]:
    """Every entry, temporary and foreign file under ``root``, each path exactly once.

    A missing root holds nothing; a root that is not a directory, or that cannot be
    read, raises ``CacheError``.
    """
    if root.exists() and not root.is_dir():
        raise CacheError(
            "the cache must be a directory, and this is not one",
            path=root,
            hint="pass --cache-dir a directory, or set LAYERPLAN_CACHE_DIR to one",
        )
    try:
        yield from _visit(root, (), set())
    except OSError as error:
        raise CacheError(f"cannot read the cache: {error.strerror or error}", path=error.filename or root) from error


_AREA_PARTS = tuple((tuple(area.path.split("/")), area) for area in AREAS)


def _owner(parts: tuple[str, ...]) -> tuple[Area | None, tuple[str, ...]]:
    """The area ``parts`` (relative to the root) is in, and the rest of the path in it."""
    for prefix, area in _AREA_PARTS:
        if parts[: len(prefix)] == prefix:
            return area, parts[len(prefix) :]
    return None, ()


def _leads_to_area(parts: tuple[str, ...]) -> bool:
    return any(prefix[: len(parts)] == parts for prefix, _ in _AREA_PARTS)


def _visit(directory: Path, parts: tuple[str, ...], counted: set[tuple[int, int]]) -> Iterator[Item]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except FileNotFoundError:
        return  # removed while we looked
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        path, here = Path(entry.path), (*parts, entry.name)
        is_dir = stat.S_ISDIR(st.st_mode)
        area, inner = _owner(here)
        if area is None or not inner:
            if is_dir and (area is not None or _leads_to_area(here)):
                yield from _visit(path, here, counted)
            else:
                yield from _others(path, st, counted)
            continue
        if is_temporary(inner[-1]):
            yield Item(area=TEMP.name, kind="temp", path=path, size=_size(path, st, counted), mtime=st.st_mtime)
        elif area.temp:
            yield from _others(path, st, counted)
        elif len(inner) < area.depth and is_dir:
            yield from _visit(path, here, counted)
        elif len(inner) == area.depth and is_dir == area.tree and area.pattern.fullmatch("/".join(inner)):
            yield Item(area=area.name, kind="entry", path=path, size=_size(path, st, counted), mtime=st.st_mtime)
        else:
            yield from _others(path, st, counted)


def _others(path: Path, st: os.stat_result, counted: set[tuple[int, int]]) -> Iterator[Item]:
    """Each file at or below ``path``, as not layerplan's."""
    if not stat.S_ISDIR(st.st_mode):
        yield Item(area=OTHER, kind="other", path=path, size=_file_size(st, counted), mtime=st.st_mtime)
        return
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        try:
            child = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        yield from _others(Path(entry.path), child, counted)


def _size(path: Path, st: os.stat_result, counted: set[tuple[int, int]]) -> int:
    """Bytes of a file, or of all files in a tree (not following symlinks)."""
    if not stat.S_ISDIR(st.st_mode):
        return _file_size(st, counted)
    total = 0
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            total += _size(Path(entry.path), entry.stat(follow_symlinks=False), counted)
        except FileNotFoundError:
            continue
    return total


def _file_size(st: os.stat_result, counted: set[tuple[int, int]]) -> int:
    # du counts a file with several hard links once (uv links build environments'
    # files from its own cache), and so do we.
    if st.st_nlink > 1:
        inode = (st.st_dev, st.st_ino)
        if inode in counted:
            return 0
        counted.add(inode)
    return st.st_size
