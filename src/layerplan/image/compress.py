"""Deterministic, streaming, block-parallel gzip for layer blobs.

A layer's compressed digest is part of the image (the manifest names it), so the same
tar must give the same gzip bytes on every machine a given layerplan version runs on.
That rules out "whatever zlib the interpreter links": the bytes would change with the
distribution's zlib. The compressor here is pinned:

* **zlib-ng** through the ``zlib-ng`` package (pinned with ``==`` in pyproject.toml, so
  the bundled zlib-ng C library is pinned too; its version is checked at import). Its CPU-specific code only speeds up
  finding the length of a match (the same matches on every CPU), unlike ISA-L, whose
  level 3 picks a different match finder on AVX-512 machines; see docs/benchmarks.md.
* The tar is cut into blocks of exactly :attr:`Compression.block_size` bytes, whatever
  sizes it was written in. Each block is deflated on its own with the previous block's
  last 32 KiB as its dictionary and ends with a sync flush, as pigz does; an empty final
  block closes the stream. So the bytes depend on the tar, the library version, the
  level and the block size -- never on how many threads compressed the blocks.
* The gzip header has no file name, time 0, XFL 0 and OS 255 (unknown).

Blocks are compressed by a thread pool (zlib-ng releases the GIL), at most
``2 * workers`` blocks in flight: memory stays bounded by the block size, never by the
layer's size. :attr:`Compression.identity` names all of the above; layer cache keys
include it, so a cache written with another compressor is never taken for this one.
"""

from __future__ import annotations

import collections
import os
import struct
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from zlib_ng import zlib_ng

__all__ = ["DEFAULT_COMPRESSION", "Compression", "GzipBlockWriter", "Sink"]

_WINDOW = 32 * 1024
_LIBRARY_VERSION = "2.2.5"
"""The zlib-ng C library that the ``zlib-ng`` package pinned in pyproject.toml (1.0.0)
bundles: what decides the bytes. Checked at import (a constant, no metadata scan) so an
environment with another build fails loudly instead of writing other bytes under the
same cache keys."""


class Sink(Protocol):
    """Where compressed bytes go (a file, a hashing writer)."""

    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Compression:
    """How layers are gzipped; everything that decides the compressed bytes."""

    level: int = 6
    """zlib-ng level: 6 is within 2% of zlib's size at level 6 for 2.4x its speed (docs/benchmarks.md)."""
    block_size: int = 1 << 20
    """Bytes of tar per independently compressed block (with the 32 KiB dictionary, 1 MiB blocks cost next to nothing in size)."""

    @property
    def identity(self) -> str:
        """A stable name of the compressor, for cache keys."""
        return f"gzip/zlib-ng-{_LIBRARY_VERSION}/level-{self.level}/block-{self.block_size}"

    def open(self, sink: Sink, *, workers: int | None = None) -> GzipBlockWriter:
        """A writer that gzips into ``sink``; ``workers`` threads (default: every core)."""
        return GzipBlockWriter(sink, self, workers=workers)


DEFAULT_COMPRESSION = Compression()


def _check_pinned() -> None:
    found = str(zlib_ng.ZLIBNG_VERSION)  # a str at run time, whatever the stub says
    if found != _LIBRARY_VERSION:
        from layerplan.image.errors import ImageError

        raise ImageError(
            f"layerplan needs the zlib-ng library {_LIBRARY_VERSION} (found {found}): layer digests depend on it",
            hint="install the zlib-ng package version pinned in layerplan's dependencies",
        )


def _deflate_block(data: bytes, zdict: bytes, level: int) -> bytes:
    compressor = zlib_ng.compressobj(level, zlib_ng.DEFLATED, -15, 8, zlib_ng.Z_DEFAULT_STRATEGY, zdict) if zdict else (
        zlib_ng.compressobj(level, zlib_ng.DEFLATED, -15)
    )
    return compressor.compress(data) + compressor.flush(zlib_ng.Z_SYNC_FLUSH)


class GzipBlockWriter:
    """A write-only stream: gzips what it is given into ``sink`` (see the module doc).

    ``close()`` (or leaving the ``with`` block without an error) writes the end of the
    stream; it does not close ``sink``.
    """

    def __init__(self, sink: Sink, compression: Compression, *, workers: int | None = None) -> None:
        self._sink = sink
        self._compression = compression
        self._workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        self._pool: ThreadPoolExecutor | None = None
        self._pending: collections.deque[Future[bytes]] = collections.deque()
        self._buffer = bytearray()
        self._previous = b""
        self._crc = 0
        self._size = 0
        self._closed = False
        xfl = 2 if compression.level == 9 else 4 if compression.level == 1 else 0
        sink.write(struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, 0, 0, xfl, 255))

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write to a closed gzip stream")
        view = memoryview(data).cast("B")
        self._crc = zlib_ng.crc32(view, self._crc)
        self._size += len(view)
        block_size = self._compression.block_size
        start = 0
        if self._buffer:
            take = block_size - len(self._buffer)
            self._buffer += view[:take]
            start = take
            if len(self._buffer) < block_size:
                return len(view)
            self._submit(bytes(self._buffer))
            self._buffer.clear()
        while len(view) - start >= block_size:
            self._submit(bytes(view[start : start + block_size]))
            start += block_size
        self._buffer += view[start:]
        return len(view)

    def flush(self) -> None:
        pass

    def _submit(self, block: bytes, *, last: bool = False) -> None:
        zdict, self._previous = self._previous[-_WINDOW:], block
        if self._workers == 1 or (last and self._pool is None):  # a small layer: no thread for one block
            self._sink.write(_deflate_block(block, zdict, self._compression.level))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="layerplan-gzip")
        self._pending.append(self._pool.submit(_deflate_block, block, zdict, self._compression.level))
        while len(self._pending) >= 2 * self._workers or (self._pending and self._pending[0].done()):
            self._sink.write(self._pending.popleft().result())

    def close(self) -> None:
        """Compress what is left and write the end of the stream (once)."""
        if self._closed:
            return
        try:
            if self._buffer:
                self._submit(bytes(self._buffer), last=True)
                self._buffer.clear()
            while self._pending:
                self._sink.write(self._pending.popleft().result())
            self._sink.write(zlib_ng.compress(b"", wbits=-15))
            self._sink.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        self._closed = True
        for pending in self._pending:
            pending.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> GzipBlockWriter:
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        if kind is None:
            self.close()
        else:
            self._shutdown()


_check_pinned()
