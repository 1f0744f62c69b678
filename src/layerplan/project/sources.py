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

__all__ = ["IGNORED_NAMES", "digest_skips", "ignored_name", "tree_digest"]

IGNORED_NAMES = frozenset(
    {"__pycache__", ".git", ".hg", ".venv", "venv", ".tox", ".nox", ".mypy_cache", ".pytest_cache",
     ".ruff_cache", "dist", "build", "node_modules", ".DS_Store"}
)
_CHUNK = 1 << 20


_ONLY_AT_TOP = frozenset({"venv", "dist", "build", "node_modules"})
"""Names a digest skips only at the top of the project, since they may name a package:
``src/app/build/`` is one a backend puts in the wheel (a warm cache keyed without it
shipped the old code). The dotted tool directories cannot, and are skipped anywhere."""


def ignored_name(name: str) -> bool:
    """True for a file or directory name no source digest reads (and so no rebuild follows):
    VCS and tool directories, virtual environments, bytecode, build output, egg-info."""
    return name in IGNORED_NAMES or name.endswith((".pyc", ".pyo", ".egg-info"))


def digest_skips(relative: Path) -> bool:
    """True when a source digest does not read ``relative`` (a path from the project's
    directory): what ``layerplan watch`` need not wake up for."""
    parts = relative.parts
    return any(_skipped(part, Path(*parts[: index + 1])) for index, part in enumerate(parts))


def _skipped(name: str, relative: Path) -> bool:
    """What a digest does not read: :func:`ignored_name`, but the names of ``_ONLY_AT_TOP``
    only directly below the project (``relative`` is the entry's path from there)."""
    if name in _ONLY_AT_TOP:
        return len(relative.parts) == 1
    return ignored_name(name)


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
        if not _skipped(entry.name, relative / entry.name):
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
