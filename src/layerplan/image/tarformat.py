"""A minimal, fully specified GNU tar writer.

Headers are encoded here rather than by ``tarfile`` so that a layer's bytes depend only
on its entries, never on the Python version running layerplan (``tarfile``'s header
details have changed between releases). Only what layers and archives need exists:
directories, regular files, symlinks and hard links, with GNU ``././@LongLink`` records
for names over 100 bytes. No PAX records, so no atime/ctime ever leaks in.
"""

from __future__ import annotations

import dataclasses
import io
import os
from dataclasses import dataclass
from typing import IO

__all__ = ["BLOCK", "DIRTYPE", "LNKTYPE", "REGTYPE", "SYMTYPE", "TarHeader", "TarWriter"]

BLOCK = 512
RECORD = 20 * BLOCK
REGTYPE = b"0"
LNKTYPE = b"1"
SYMTYPE = b"2"
DIRTYPE = b"5"
_LONGNAME = b"L"
_LONGLINK = b"K"
_GNU_MAGIC = b"ustar  \x00"


@dataclass(frozen=True, kw_only=True, slots=True)
class TarHeader:
    """One archive entry's header. ``name`` is relative (``usr/lib/x``); directories end in ``/``."""

    name: str
    type: bytes
    mode: int
    size: int = 0
    mtime: int = 0
    uid: int = 0
    gid: int = 0
    linkname: str = ""


def _number(value: int, width: int) -> bytes:
    """An octal field (NUL-terminated), or GNU base-256 when the value does not fit."""
    if 0 <= value < 8 ** (width - 1):
        return b"%0*o\x00" % (width - 1, value)
    if value < 0:
        raise ValueError(f"negative tar field {value}")
    return bytes([0x80]) + value.to_bytes(width - 1, "big")


def _text(value: bytes, width: int) -> bytes:
    return value[:width].ljust(width, b"\x00")


def _encode(text: str) -> bytes:
    return os.fsencode(text)


def _raw_header(name: bytes, type_: bytes, h: TarHeader, size: int, linkname: bytes) -> bytes:
    fields = [
        _text(name, 100),
        _number(h.mode & 0o7777, 8),
        _number(h.uid, 8),
        _number(h.gid, 8),
        _number(size, 12),
        _number(h.mtime, 12),
        b" " * 8,  # checksum, computed below over the header with this field as spaces
        type_,
        _text(linkname, 100),
        _GNU_MAGIC,
        _text(b"", 32),  # uname: empty, ids only
        _text(b"", 32),  # gname
        _text(b"", 16),  # devmajor, devminor: empty for non-devices, as GNU tar writes them
    ]
    block = b"".join(fields).ljust(BLOCK, b"\x00")
    checksum = b"%06o\x00 " % sum(block)
    return block[:148] + checksum + block[156:]


class TarWriter:
    """Write entries to ``out`` (any object with ``write``); :meth:`close` ends the archive."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self.offset = 0

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self.offset += len(data)

    def _pad(self, size: int) -> None:
        remainder = size % BLOCK
        if remainder:
            self._write(b"\x00" * (BLOCK - remainder))

    def _long(self, type_: bytes, value: bytes) -> None:
        data = value + b"\x00"
        long_header = TarHeader(name="././@LongLink", type=type_, mode=0o644)
        self._write(_raw_header(b"././@LongLink", type_, long_header, len(data), b""))
        self._write(data)
        self._pad(len(data))

    def add(self, header: TarHeader, content: IO[bytes] | None = None) -> None:
        """Write ``header``, then ``header.size`` bytes read from ``content`` (regular files)."""
        name = _encode(header.name)
        linkname = _encode(header.linkname)
        if len(name) > 100:
            self._long(_LONGNAME, name)
        if len(linkname) > 100:
            self._long(_LONGLINK, linkname)
        size = header.size if header.type == REGTYPE else 0
        self._write(_raw_header(name, header.type, header, size, linkname))
        if size:
            if content is None:
                raise ValueError(f"no content given for {header.name}")
            copied = _copy_exact(content, self, size)
            if copied != size:
                raise OSError(f"{header.name}: expected {size} bytes, read {copied} (file changed while archiving?)")
            self._pad(size)

    def add_bytes(self, header: TarHeader, data: bytes) -> None:
        """Write a regular file whose content is ``data`` (``header.size`` is ignored)."""
        self.add(dataclasses.replace(header, type=REGTYPE, size=len(data)), io.BytesIO(data))

    def close(self) -> None:
        """Two zero blocks, then padding to a whole record, as GNU tar does."""
        self._write(b"\x00" * (2 * BLOCK))
        remainder = self.offset % RECORD
        if remainder:
            self._write(b"\x00" * (RECORD - remainder))


def _copy_exact(source: IO[bytes], writer: TarWriter, size: int) -> int:
    remaining = size
    while remaining:
        chunk = source.read(min(remaining, 1 << 20))
        if not chunk:
            break
        writer._write(chunk)
        remaining -= len(chunk)
    if remaining == 0 and source.read(1):
        raise OSError("file grew while archiving")
    return size - remaining
