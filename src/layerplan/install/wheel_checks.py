"""What a wheel archive must satisfy before any of it is written, and the bounds on
unpacking it.

Checked on the zip's central directory, before a byte is written: every entry name is
relative, without ``..``, and appears once (a duplicate name means two different
contents, of which a reader sees one and an installer another); a symlink entry stays
inside the wheel; the declared uncompressed sizes stay under ``UnpackLimits`` - in total,
and per entry as a compression ratio, which is what tells a zip bomb from a big wheel.

The declared sizes are what bounds the real ones: ``zipfile`` stops each entry at its
declared size and fails the CRC check when the data would go on (a "lying" header gives
a truncated entry and a ``BadZipFile``, never more bytes), so checking the directory
first is enough.
"""

from __future__ import annotations

import posixpath
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from layerplan._units import format_size
from layerplan.install.errors import UnsafeWheelError

__all__ = ["DEFAULT_LIMITS", "UnpackLimits", "check_wheel_archive", "unsafe"]

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True, kw_only=True, slots=True)
class UnpackLimits:
    """Bounds on what unpacking one wheel may write."""

    total_bytes: int = 8 << 30
    """Uncompressed bytes of the whole wheel. The largest real wheels (CUDA builds of
    torch, tensorflow, the nvidia-* libraries) unpack to 1-3 GiB; 8 GiB leaves room for
    them and still stops a wheel from filling the disk."""
    max_ratio: int = 200
    """Uncompressed to compressed size, per entry. Real files (code, shared objects, even
    padded data tables) stay well under 100:1; deflate's ceiling is about 1030:1, which
    is what a zip bomb uses."""
    ratio_floor: int = 1 << 20
    """Entries that unpack to less than this are not ratio-checked: a tiny file of
    spaces may compress 500:1 and harms nobody."""


DEFAULT_LIMITS = UnpackLimits()


def unsafe(wheel: Path, entry: str, why: str) -> UnsafeWheelError:
    """The error for a wheel entry that must not be installed."""
    return UnsafeWheelError(
        f"{wheel.name}: entry {entry!r} {why}; refusing to install this wheel",
        path=wheel,
        hint="the wheel is malformed or malicious; get it from a trusted source",
    )


def check_wheel_archive(wheel: Path, archive: zipfile.ZipFile, limits: UnpackLimits = DEFAULT_LIMITS) -> None:
    """Raise ``UnsafeWheelError`` for an entry that is absolute, climbs with ``..``, is
    a symlink pointing outside the wheel, appears twice, or unpacks beyond ``limits``."""
    seen: set[str] = set()
    total = 0
    for info in archive.infolist():
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if "\x00" in name or name.startswith(("/", "\\")) or _DRIVE.match(name):
            raise unsafe(wheel, name, "is an absolute path")
        if ".." in parts:
            raise unsafe(wheel, name, "climbs out of the install directory with `..`")
        key = posixpath.normpath(name.replace("\\", "/"))
        if key in seen and not name.endswith("/"):  # directory entries write nothing
            raise unsafe(wheel, name, "appears twice in the archive (which copy is installed depends on the tool)")
        seen.add(key)
        if info.file_size >= limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise unsafe(
                wheel,
                name,
                f"unpacks {format_size(info.compress_size)} to {format_size(info.file_size)} "
                f"({ratio}:1, over the limit of {limits.max_ratio}:1 that tells a zip bomb from real files)",
            )
        total += info.file_size
        if total > limits.total_bytes:
            raise unsafe(
                wheel,
                name,
                f"brings the unpacked size over {format_size(limits.total_bytes)}, the limit for one wheel",
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            target = archive.read(info).decode("utf-8", "replace")
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
            if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
                raise unsafe(wheel, name, f"is a symlink to {target!r}, outside the wheel")
