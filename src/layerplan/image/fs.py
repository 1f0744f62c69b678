"""The file tree of an image, read from its layer tarballs without running anything.

Layers are applied in order with the OCI rules: a later entry replaces an earlier one,
``.wh.NAME`` deletes ``NAME`` (and what is beneath it) from the layers below, and
``.wh..wh..opq`` empties its directory of what the layers below put there. Only
metadata is kept, plus the bytes of the few files a caller asks to *capture*.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import IO, Literal

from layerplan.image.errors import BaseImageError
from layerplan.image.model import Layer

__all__ = ["FsEntry", "ImageFS"]

_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
_MAX_CAPTURE = 64 * 1024 * 1024
_MAX_LINKS = 40


@dataclass(frozen=True, slots=True)
class FsEntry:
    kind: Literal["dir", "file", "symlink", "hardlink", "other"]
    target: str = ""
    """A symlink's target as written, or a hard link's absolute path."""


def _norm(name: str) -> str:
    """``./usr/bin/`` -> ``/usr/bin``."""
    return posixpath.normpath("/" + name.lstrip("/"))


class ImageFS:
    """The merged tree of an image's layers (paths are absolute: ``/usr/bin/python3``)."""

    def __init__(self) -> None:
        self._entries: dict[str, FsEntry] = {"/": FsEntry("dir")}
        self._content: dict[str, bytes] = {}

    @classmethod
    def from_layers(cls, layers: Iterable[Layer], capture: Callable[[str], bool] = lambda _: False) -> ImageFS:
        """Read every layer once, in order; keep the bytes of files for which ``capture(path)``."""
        fs = cls()
        for layer in layers:
            try:
                with layer.open_tar() as stream:
                    fs.apply_tar(stream, capture)
            except (tarfile.TarError, EOFError, OSError) as exc:
                raise BaseImageError(f"cannot read base layer {layer.digest}: {exc}") from exc
        return fs

    # ---- building ----------------------------------------------------------------------

    def _remove_tree(self, path: str, keep: set[str], include_self: bool) -> None:
        prefix = path.rstrip("/") + "/"
        doomed = [p for p in self._entries if p.startswith(prefix) and p not in keep]
        if include_self and path in self._entries and path not in keep:
            doomed.append(path)
        for p in doomed:
            del self._entries[p]
            self._content.pop(p, None)

    def apply_tar(self, stream: IO[bytes], capture: Callable[[str], bool]) -> None:
        """Apply one uncompressed layer tar on top of the tree."""
        added: set[str] = set()
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                path = _norm(member.name)
                if path == "/":
                    continue
                parent, base = posixpath.split(path)
                if base == _OPAQUE:
                    self._remove_tree(parent, added, include_self=False)
                    continue
                if base.startswith(_WHITEOUT):
                    self._remove_tree(posixpath.join(parent, base[len(_WHITEOUT):]), added, include_self=True)
                    continue
                entry = _entry(member)
                previous = self._entries.get(path)
                if previous is not None and not (previous.kind == entry.kind == "dir"):
                    self._remove_tree(path, added, include_self=True)
                self._add_parents(parent, added)
                self._entries[path] = entry
                added.add(path)
                self._content.pop(path, None)
                if entry.kind == "file" and member.size <= _MAX_CAPTURE and capture(path):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        self._content[path] = handle.read()
                elif entry.kind == "hardlink" and capture(path) and entry.target in self._content:
                    self._content[path] = self._content[entry.target]

    def _add_parents(self, parent: str, added: set[str]) -> None:
        while parent not in self._entries:
            self._entries[parent] = FsEntry("dir")
            added.add(parent)
            parent = posixpath.dirname(parent)

    # ---- reading -----------------------------------------------------------------------

    def get(self, path: str) -> FsEntry | None:
        """The entry at ``path`` itself (a symlink is not followed)."""
        return self._entries.get(_norm(path))

    @property
    def symlinks(self) -> Mapping[str, str]:
        """Every symlink of the final tree: absolute path -> target as written."""
        return MappingProxyType({p: e.target for p, e in self._entries.items() if e.kind == "symlink"})

    def resolve_chain(self, path: str) -> list[str]:
        """The paths visited resolving ``path`` (last = the real path); empty if it does not exist.

        Symlinks resolve inside the image: ``/x`` targets are relative to the image root.
        """
        chain = [_norm(path)]
        pending = [p for p in chain[0].split("/") if p]
        current = "/"
        hops = 0
        while pending:
            part = pending.pop(0)
            candidate = posixpath.join(current, part)
            entry = self._entries.get(candidate)
            if entry is None:
                return []
            if entry.kind == "symlink":
                hops += 1
                if hops > _MAX_LINKS:
                    return []
                target = entry.target
                base = "/" if target.startswith("/") else current
                pending = [p for p in posixpath.normpath(posixpath.join(base, target)).split("/") if p] + pending
                current = "/"
                chain.append(_norm("/".join(pending)))
                continue
            if pending and entry.kind != "dir":
                return []
            current = candidate
        if chain[-1] != current:
            chain.append(current)
        return chain

    def resolve(self, path: str) -> str | None:
        """The real path of ``path`` after following symlinks, or ``None`` when it does not exist."""
        chain = self.resolve_chain(path)
        return chain[-1] if chain else None

    def listdir(self, path: str) -> list[str]:
        """Names directly inside the directory ``path`` (after following symlinks), sorted."""
        real = self.resolve(path)
        if real is None or self._entries[real].kind != "dir":
            return []
        prefix = real.rstrip("/") + "/"
        return sorted({p[len(prefix):] for p in self._entries if p.startswith(prefix) and "/" not in p[len(prefix):]})

    def is_file(self, path: str) -> bool:
        real = self.resolve(path)
        return real is not None and self._entries[real].kind in ("file", "hardlink")

    def read(self, path: str) -> bytes | None:
        """The captured bytes of the file at ``path`` (following symlinks), if it was captured."""
        real = self.resolve(path)
        return None if real is None else self._content.get(real)

    def captured(self) -> dict[str, bytes]:
        """Every captured file of the final tree, by path."""
        return dict(self._content)


def _entry(member: tarfile.TarInfo) -> FsEntry:
    if member.isdir():
        return FsEntry("dir")
    if member.issym():
        return FsEntry("symlink", member.linkname)
    if member.islnk():
        return FsEntry("hardlink", _norm(member.linkname))
    if member.isreg():
        return FsEntry("file")
    return FsEntry("other")
