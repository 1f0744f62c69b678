"""Reproducible layer tarballs from a staging tree.

The staging directory is laid out as the files should appear under ``/`` in the image.
The layer's bytes depend only on the tree's paths, contents, symlink targets and
executable bits, plus the options below: never on mtimes, atimes, the umask, owners on
the host, the order directories were created in, or how the tree was hard-linked.

* entries are sorted by their byte names, depth first, every parent directory present;
* owner 0:0 (or the numeric owner given for chosen writable paths), empty user/group names;
* modes: directories 0755, files 0755 when any execute bit is set on the host else 0644,
  symlinks kept as symlinks (their target verbatim);
* every time is ``epoch`` (``SOURCE_DATE_EPOCH``; default 315532800 = 1980-01-01T00:00:00Z,
  the earliest time a zip/wheel can carry, so no file in an image predates its wheel);
* GNU tar headers written by ``image.tarformat`` (no PAX records, so no atime/ctime);
* gzip by :mod:`layerplan.image.compress`: a pinned zlib-ng, fixed blocks compressed
  in parallel, header time 0, no file name, OS byte 255.

The compressed digest also depends on the compressor (:attr:`Compression.identity`,
which the layer cache keys include); the diff_id (the sha256 of the tar) does not.
Nothing is held in memory but a few blocks: the tar streams from the source files
through the compressor into ``out``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import posixpath
import stat
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from layerplan.cache.atomic import atomic_write
from layerplan.image.compress import DEFAULT_COMPRESSION, Compression
from layerplan.reproducible import DEFAULT_EPOCH, source_date_epoch
from layerplan.image.errors import (
    SymlinkConflictError,
    UnsafePathError,
    UnsupportedEntryError,
)
from layerplan.image.model import LayerBlob
from layerplan.image.tarformat import (
    DIRTYPE,
    LNKTYPE,
    REGTYPE,
    SYMTYPE,
    TarHeader,
    TarWriter,
)
from layerplan.oci.digest import Digest

__all__ = [
    "DEFAULT_EPOCH",
    "Compression",
    "LayerEntry",
    "LayerOptions",
    "build_layer",
    "entries_from_tree",
    "source_date_epoch",
    "write_layer",
]

EntryKind = Literal["dir", "file", "symlink", "hardlink"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerEntry:
    """One path of a layer. ``path`` is relative to the image root (``app/.venv/bin/python``)."""

    path: str
    kind: EntryKind
    source: Path | None = None
    """Host file holding a regular file's content."""
    executable: bool = False
    link_target: str = ""
    """A symlink's target (verbatim), or a hard link's layer path."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerOptions:
    """How entries become tar headers."""

    epoch: int = DEFAULT_EPOCH
    """Every time field; see :func:`source_date_epoch`."""
    owners: tuple[tuple[str, int, int], ...] = ()
    """``(image path, uid, gid)``: that path and everything beneath it get this numeric owner
    (the longest matching path wins); everything else is 0:0."""
    base_symlinks: Collection[str] = field(default_factory=frozenset)
    """Absolute paths that are symlinks in the base image (a mapping path -> target gives
    better hints). No entry may be such a path or lie beneath one."""
    hardlinks: Literal["copy", "link"] = "copy"
    """``copy``: every path is a regular file, so the layer does not depend on how the
    staging tree was linked. ``link``: files sharing an inode become tar hard links to the
    first of them in archive order (deterministic for the same link structure)."""
    compression: Compression = DEFAULT_COMPRESSION
    """How the tar is gzipped (its :attr:`~Compression.identity` belongs in a cache key)."""
    compress_workers: int | None = None
    """Threads compressing one layer (default: every core); never changes the bytes."""


def entries_from_tree(staging: Path, *, hardlinks: Literal["copy", "link"] = "copy") -> list[LayerEntry]:
    """Walk ``staging`` (not following symlinks) into entries, in archive order.

    Raise ``UnsupportedEntryError`` for devices, sockets and fifos.
    """
    entries: list[LayerEntry] = []
    inodes: dict[tuple[int, int], str] = {}

    def walk(directory: Path, prefix: str) -> None:
        with os.scandir(directory) as it:
            children = sorted(it, key=lambda e: os.fsencode(e.name))
        for child in children:
            path = f"{prefix}{child.name}"
            st = child.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                entries.append(LayerEntry(path=path, kind="dir"))
                walk(Path(child.path), f"{path}/")
            elif stat.S_ISLNK(st.st_mode):
                entries.append(LayerEntry(path=path, kind="symlink", link_target=os.readlink(child.path)))
            elif stat.S_ISREG(st.st_mode):
                inode = (st.st_dev, st.st_ino)
                if hardlinks == "link" and st.st_nlink > 1 and inode in inodes:
                    entries.append(LayerEntry(path=path, kind="hardlink", link_target=inodes[inode]))
                    continue
                inodes.setdefault(inode, path)
                executable = bool(st.st_mode & 0o111)
                entries.append(LayerEntry(path=path, kind="file", source=Path(child.path), executable=executable))
            else:
                raise UnsupportedEntryError(
                    "a layer can hold only directories, regular files and symlinks",
                    path=child.path,
                    hint="remove the device, socket or fifo from the staging tree",
                )

    walk(Path(staging), "")
    return entries


def _clean(path: str) -> str:
    """Validate a layer path and return it normalised (no ``./``, no trailing ``/``)."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        raise UnsafePathError(
            f"layer path {path!r} must be relative to the image root",
            hint="write paths like 'app/x', never '/app/x', '', or with backslashes",
        )
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise UnsafePathError(f"layer path {path!r} escapes the image root", hint="remove '..' from the path")
    return "/".join(parts)


def _check_symlinks(path: str, base_symlinks: Collection[str]) -> None:
    if not base_symlinks:
        return
    absolute = f"/{path}"
    probe = absolute
    while probe != "/":
        if probe in base_symlinks:
            target = base_symlinks[probe] if isinstance(base_symlinks, Mapping) else None
            where = "is" if probe == absolute else f"is under {probe}, which is"
            hint = "install it elsewhere; the base image's link must stay a link"
            if target is not None:
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(probe), target))
                hint = f"write it as {resolved}{absolute[len(probe):]} instead (the link points to {resolved})"
            raise SymlinkConflictError(
                f"the layer would write {absolute}, which {where} a symlink in the base image;"
                " replacing it would break the image",
                key=absolute,
                hint=hint,
            )
        probe = posixpath.dirname(probe)


def _normalise(entries: Iterable[LayerEntry], options: LayerOptions) -> list[LayerEntry]:
    """Clean paths, add missing parent directories, reject conflicts, sort."""
    by_path: dict[str, LayerEntry] = {}
    for entry in entries:
        path = _clean(entry.path)
        if entry.kind == "hardlink":
            link = _clean(entry.link_target)
            entry = LayerEntry(path=path, kind="hardlink", link_target=link)
        elif path != entry.path:
            entry = LayerEntry(
                path=path, kind=entry.kind, source=entry.source, executable=entry.executable,
                link_target=entry.link_target,
            )
        previous = by_path.get(path)
        if previous is not None and not (previous.kind == entry.kind == "dir"):
            raise UnsafePathError(f"layer path {path!r} is given twice")
        by_path[path] = entry
    for path in list(by_path):
        parent = posixpath.dirname(path)
        while parent and parent not in by_path:
            by_path[parent] = LayerEntry(path=parent, kind="dir")
            parent = posixpath.dirname(parent)
        if parent and by_path[parent].kind != "dir":
            raise UnsafePathError(f"layer path {path!r} is beneath {parent!r}, which is not a directory")
    for path in by_path:
        _check_symlinks(path, options.base_symlinks)
    # sorting split names puts every directory right before its contents (tar --sort=name)
    ordered = sorted(by_path.values(), key=lambda e: [os.fsencode(p) for p in e.path.split("/")])
    seen: set[str] = set()
    for entry in ordered:
        if entry.kind == "hardlink" and (entry.link_target not in seen or by_path[entry.link_target].kind != "file"):
            raise UnsafePathError(
                f"hard link {entry.path!r} must point to a regular file earlier in the layer, not {entry.link_target!r}"
            )
        seen.add(entry.path)
    return ordered


def _owner(path: str, owners: tuple[tuple[str, int, int], ...]) -> tuple[int, int]:
    best, uid, gid = -1, 0, 0
    absolute = f"/{path}"
    for owned, o_uid, o_gid in owners:
        root = "/" + owned.strip("/")
        if (absolute == root or absolute.startswith(root.rstrip("/") + "/")) and len(root) > best:
            best, uid, gid = len(root), o_uid, o_gid
    return uid, gid


class _Hashing:
    """Pass writes to ``sink`` while hashing and counting them."""

    def __init__(self, sink: IO[bytes]) -> None:
        self.sink = sink
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        self.sink.write(data)
        return len(data)

    def flush(self) -> None:
        pass

    @property
    def digest(self) -> Digest:
        return Digest("sha256", self.hash.hexdigest())


def write_layer(entries: Iterable[LayerEntry], out: IO[bytes], options: LayerOptions | None = None) -> LayerBlob:
    """Write the gzipped layer of ``entries`` to ``out``; return its digests and size.

    Raise ``UnsafePathError`` for a path that escapes the root or is given twice,
    ``SymlinkConflictError`` for a path that is (or lies beneath) a base-image symlink,
    ``OSError`` when a source file cannot be read.
    """
    options = options or LayerOptions()
    ordered = _normalise(entries, options)
    compressed = _Hashing(out)
    with options.compression.open(compressed, workers=options.compress_workers) as gz:
        plain = _Hashing(gz)  # type: ignore[arg-type]
        tar = TarWriter(plain)  # type: ignore[arg-type]
        for entry in ordered:
            uid, gid = _owner(entry.path, options.owners)
            header = TarHeader(name=entry.path, type=REGTYPE, mode=0o644, mtime=options.epoch, uid=uid, gid=gid)
            if entry.kind == "dir":
                tar.add(dataclasses.replace(header, name=f"{entry.path}/", type=DIRTYPE, mode=0o755))
            elif entry.kind == "symlink":
                tar.add(dataclasses.replace(header, type=SYMTYPE, mode=0o777, linkname=entry.link_target))
            elif entry.kind == "hardlink":
                tar.add(dataclasses.replace(header, type=LNKTYPE, linkname=entry.link_target))
            else:
                if entry.source is None:
                    raise ValueError(f"layer entry {entry.path!r} has no source file")
                mode = 0o755 if entry.executable else 0o644
                with open(entry.source, "rb") as content:
                    size = os.fstat(content.fileno()).st_size
                    tar.add(dataclasses.replace(header, mode=mode, size=size), content)
        tar.close()
    return LayerBlob(digest=compressed.digest, diff_id=plain.digest, size=compressed.size)


def build_layer(staging: Path, dest: Path, options: LayerOptions | None = None) -> LayerBlob:
    """Write the layer of the tree ``staging`` to the file ``dest`` (atomically)."""
    options = options or LayerOptions()
    entries = entries_from_tree(staging, hardlinks=options.hardlinks)
    with atomic_write(dest) as out:
        return write_layer(entries, out, options)
