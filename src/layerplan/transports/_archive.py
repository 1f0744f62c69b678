"""Random access to the members of a tar archive, without extracting it."""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from layerplan.image.errors import BaseImageError

__all__ = ["ArchiveIndex", "holds_files"]


class _Section(io.RawIOBase):
    """``size`` bytes of a file starting at ``offset``."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._file.seek(offset)
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: min(len(buffer), self._left)]
        count = self._file.readinto(view)
        if not count:
            raise EOFError("archive ended inside a member")
        self._left -= count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


class ArchiveIndex:
    """The members of an uncompressed tar file, openable by name (links followed)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            with tarfile.open(self.path, mode="r:") as tar:
                self._members = {posixpath.normpath(m.name.lstrip("/")): m for m in tar.getmembers()}
        except (OSError, tarfile.TarError) as exc:
            raise BaseImageError(f"cannot read the archive: {exc}", path=self.path) from exc

    def _member(self, name: str) -> tarfile.TarInfo:
        name = posixpath.normpath(name.lstrip("/"))
        for _ in range(20):
            member = self._members.get(name)
            if member is None:
                raise BaseImageError(f"the archive has no {name!r}", path=self.path)
            if member.issym():
                name = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
            elif member.islnk():
                name = posixpath.normpath(member.linkname.lstrip("/"))
            elif member.isreg():
                return member
            else:
                raise BaseImageError(f"{name!r} in the archive is not a file", path=self.path)
        raise BaseImageError(f"too many links resolving {name!r}", path=self.path)

    def __contains__(self, name: str) -> bool:
        return posixpath.normpath(name.lstrip("/")) in self._members

    def size(self, name: str) -> int:
        return self._member(name).size

    def open(self, name: str) -> IO[bytes]:
        """A buffered stream of the member's bytes."""
        member = self._member(name)
        return io.BufferedReader(_Section(self.path, member.offset_data, member.size), 1 << 20)

    def read(self, name: str, limit: int = 64 * 1024 * 1024) -> bytes:
        if self.size(name) > limit:
            raise BaseImageError(f"{name!r} in the archive is too large for metadata", path=self.path)
        with self.open(name) as handle:
            return handle.read()


def holds_files(path: Path, expected: Mapping[str, int | bytes]) -> bool:
    """True when the tar at ``path`` has exactly the regular files of ``expected``: each
    named file with that size (an ``int``) or those bytes. False for anything else,
    including a missing or unreadable file."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            files = {posixpath.normpath(m.name.lstrip("/")): m for m in tar.getmembers() if not m.isdir()}
            if files.keys() != expected.keys():
                return False
            for name, want in expected.items():
                member = files[name]
                size = want if isinstance(want, int) else len(want)
                if not member.isreg() or member.size != size:
                    return False
                if isinstance(want, bytes):
                    handle = tar.extractfile(member)
                    if handle is None or handle.read() != want:
                        return False
    except (OSError, tarfile.TarError):
        return False
    return True
