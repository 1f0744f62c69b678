"""Content digests of source trees: what keys the app and local-package layers.

Only file *contents* and *relative paths* count (and the executable bit), never mtimes or
the absolute location of the checkout, so two clones give the same digest.

What goes into an image must come from the project: a symlink that leads out of it (to
``/etc/passwd``, to a directory with an SSH key) is refused, and so is a special file (a
FIFO would block the read forever, ``/dev/zero`` would never end). A symlink that stays
inside is read through, as the build backends read it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from layerplan.errors import ProjectError

__all__ = ["IGNORED_NAMES", "ignored_name", "tree_digest"]

IGNORED_NAMES = frozenset(
    {"__pycache__", ".git", ".hg", ".venv", "venv", ".tox", ".nox", ".mypy_cache", ".pytest_cache",
     ".ruff_cache", "dist", "build", "node_modules", ".DS_Store"}
)
_CHUNK = 1 << 20


def ignored_name(name: str) -> bool:
    """True for a file or directory name no source digest reads (and so no rebuild follows):
    VCS and tool directories, virtual environments, bytecode, build output, egg-info."""
    return name in IGNORED_NAMES or name.endswith((".pyc", ".pyo", ".egg-info"))


def _files(root: Path, relative: Path, boundary: Path, seen: set[Path]) -> Iterator[tuple[Path, Path]]:
    """``(relative path, real file)`` below ``root / relative``, links within ``boundary``
    followed (each real directory once), links out of it and special files refused."""
    path = root / relative
    if not path.exists() and not path.is_symlink():
        return
    real = _inside(path, relative, boundary)
    if real.is_file():
        _regular(real, relative)
        yield relative, real
        return
    if not real.is_dir():
        _regular(real, relative)
        return
    if real in seen:  # a link back into a directory already read
        return
    seen.add(real)
    for entry in sorted(os.scandir(real), key=lambda e: e.name):
        if not ignored_name(entry.name):
            yield from _files(root, relative / entry.name, boundary, seen)


def _inside(path: Path, relative: Path, boundary: Path) -> Path:
    """The real path of ``path``; ``ProjectError`` when a link leads out of ``boundary``."""
    real = path.resolve()
    if real != boundary and boundary not in real.parents:
        target = os.readlink(path) if path.is_symlink() else str(real)
        raise ProjectError(
            f"{relative.as_posix()} leads out of the project (to {target}): nothing from outside it goes into an image",
            path=path,
            hint="copy what it points to into the project, or remove the link",
        )
    return real


def _regular(real: Path, relative: Path) -> None:
    mode = real.stat().st_mode
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        kind = "FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file"
        raise ProjectError(
            f"{relative.as_posix()} is a {kind}, not a source file",
            path=real,
            hint="remove it from the project tree (or move it under an ignored directory such as build/)",
        )


def tree_digest(root: Path, paths: tuple[Path, ...] | list[Path] = (Path("."),), *, boundary: Path | None = None) -> str:
    """sha256 (hex) over the sorted relative paths, modes and contents below ``paths``.

    ``boundary`` (default ``root``) is what links may point into: the workspace, for a
    member whose files link to the workspace root's. Raise ``ProjectError`` for a link
    out of it or a special file.
    """
    limit = (boundary or root).resolve()
    found: dict[str, Path] = {}
    for start in paths:
        seen: set[Path] = set()
        for relative, real in _files(root, Path(start), limit, seen):
            found.setdefault(os.path.normpath(relative.as_posix()), real)
    digest = hashlib.sha256()
    for name in sorted(found):
        real = found[name]
        digest.update(name.encode() + b"\0")
        digest.update(b"x" if os.access(real, os.X_OK) else b"-")
        content = hashlib.sha256()
        with real.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                content.update(chunk)
        digest.update(content.digest())
    return digest.hexdigest()
