"""Blobs by digest and layer keys, shared by concurrent processes.

Why it is safe:

* every file is written through :func:`~layerplan.cache.atomic.atomic_write` (a locked
  temporary under ``tmp/``, fsynced and renamed), so a name under ``blobs/`` or
  ``keys/`` always holds complete content;
* two processes putting the same blob write two temporaries and rename both onto the
  same name with the same bytes; two processes putting the same key both write a valid
  record and the last rename wins.

"Last used" is a file's mtime, which every hit refreshes: atime is not used because
``noatime``/``relatime`` mounts make it unreliable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from layerplan.cache.atomic import atomic_write
from layerplan.cache.layout import BLOBS, KEYS, TEMP, CacheError, default_cache_dir
from layerplan.oci.digest import Digest

__all__ = ["BlobCache", "BlobWriter", "CachedLayer", "read_key"]

_CHUNK = 1 << 20


@dataclass(frozen=True, kw_only=True, slots=True)
class CachedLayer:
    """What the cache remembers about a built layer."""

    digest: Digest
    """sha256 of the compressed blob stored under ``blobs/``."""
    diff_id: Digest
    """sha256 of the uncompressed tar (the image config's ``rootfs.diff_ids`` entry)."""
    size: int
    """Size in bytes of the compressed blob."""
    built_for: str | None = None
    """What the layer was built for, for people (and tests) reading the cache: the plan's
    key of the layer (``layerplan plan --json``), which the cache key extends."""


def read_key(path: Path) -> CachedLayer | None:
    """The layer a key record holds; ``None`` when it is missing or unreadable."""
    try:
        record = json.loads(path.read_bytes())
        return CachedLayer(
            digest=Digest.parse(record["digest"]),
            diff_id=Digest.parse(record["diff_id"]),
            size=int(record["size"]),
            built_for=str(record["built_for"]) if record.get("built_for") else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


class BlobWriter:
    """A blob being written into the cache; see :meth:`BlobCache.writer`."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._hash = hashlib.sha256()
        self.size = 0
        self.digest: Digest | None = None
        """Set when the ``with`` block has ended and the blob is in place."""

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self._handle.write(data)

    def flush(self) -> None:
        self._handle.flush()

    def _current(self) -> Digest:
        return Digest("sha256", self._hash.hexdigest())


class BlobCache:
    """The blobs and layer keys of the cache rooted at ``root`` (created on first write)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    # ---- blobs -------------------------------------------------------------------------

    def blob_path(self, digest: Digest) -> Path:
        """Where the blob ``digest`` lives (whether or not it is present)."""
        if digest.algorithm != "sha256":
            raise CacheError(f"the cache stores sha256 blobs only, not {digest}")
        return BLOBS.under(self.root) / digest.hex

    def has(self, digest: Digest) -> bool:
        """True when the complete blob is present."""
        return self.blob_path(digest).is_file()

    def open(self, digest: Digest) -> BinaryIO:
        """Open the blob for reading and mark it used; raise ``CacheError`` if absent."""
        path = self.blob_path(digest)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise CacheError(f"blob {digest} is not in the cache", path=self.root) from exc
        _touch(path)
        return handle

    def read_verified(self, digest: Digest, max_size: int) -> bytes | None:
        """The bytes of the small blob ``digest`` (a manifest, a config) when the cache holds
        it, at most ``max_size`` bytes and hashing to its digest; ``None`` otherwise (then
        the caller fetches it again and ``put_bytes`` replaces what was there)."""
        try:
            path = self.blob_path(digest)
            found = path.stat()
            # Only a regular file: a FIFO (a damaged or hostile cache) would block the read forever
            if not stat.S_ISREG(found.st_mode) or found.st_size > max_size:
                return None
            data = path.read_bytes()
        except (OSError, CacheError):
            return None
        if hashlib.new(digest.algorithm, data).hexdigest() != digest.hex:
            return None
        _touch(path)
        return data

    @contextlib.contextmanager
    def writer(self, expected: Digest | None = None) -> Iterator[BlobWriter]:
        """Yield a :class:`BlobWriter`; when the block ends the blob is stored under its digest.

        With ``expected``, a blob whose bytes hash differently is discarded and
        ``CacheError`` is raised. On any exception nothing is stored.
        """

        def destination() -> Path:
            digest = writer._current()
            if expected is not None and digest != expected:
                raise CacheError(
                    f"downloaded or built blob has digest {digest}, expected {expected}",
                    hint="the source changed or the transfer was corrupted; retry",
                )
            return self.blob_path(digest)

        with atomic_write(destination, temp_dir=TEMP.under(self.root), label="blob") as handle:
            writer = BlobWriter(handle)
            yield writer
        writer.digest = writer._current()

    def put_bytes(self, data: bytes, expected: Digest | None = None) -> Digest:
        """Store ``data``; return its digest."""
        with self.writer(expected) as out:
            out.write(data)
        assert out.digest is not None
        return out.digest

    def put_stream(self, stream: BinaryIO, expected: Digest | None = None) -> Digest:
        """Store everything read from ``stream``; return its digest."""
        with self.writer(expected) as out:
            while chunk := stream.read(_CHUNK):
                out.write(chunk)
        assert out.digest is not None
        return out.digest

    # ---- layer keys --------------------------------------------------------------------

    def key_path(self, key: str) -> Path:
        """Where the record of layer key ``key`` lives; ``CacheError`` for a malformed key."""
        relative = f"{key[:2]}/{key}.json"
        if not KEYS.pattern.fullmatch(relative):
            raise CacheError(f"invalid layer key {key!r} (expected 16-128 lowercase hex digits)")
        return KEYS.under(self.root) / key[:2] / f"{key}.json"

    def get_layer(self, key: str) -> CachedLayer | None:
        """The layer recorded under ``key`` if its blob is still present, else ``None``."""
        path = self.key_path(key)
        layer = read_key(path)
        if layer is None:
            return None
        blob = self.blob_path(layer.digest)
        try:
            if blob.stat().st_size != layer.size:
                return None
        except FileNotFoundError:
            return None
        _touch(path)
        _touch(blob)
        return layer

    def put_layer(self, key: str, layer: CachedLayer) -> None:
        """Record ``key`` -> ``layer``; the blob must already be in the cache."""
        path = self.key_path(key)
        if not self.has(layer.digest):
            raise CacheError(f"cannot record layer key {key}: blob {layer.digest} is not in the cache")
        record: dict[str, object] = {"digest": str(layer.digest), "diff_id": str(layer.diff_id), "size": layer.size}
        if layer.built_for:
            record["built_for"] = layer.built_for
        data = json.dumps(record, sort_keys=True).encode()
        with atomic_write(path, temp_dir=TEMP.under(self.root), label="key") as out:
            out.write(data)


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)
