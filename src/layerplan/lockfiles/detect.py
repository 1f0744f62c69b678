"""Find a project's lockfile and the format that reads it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from layerplan.errors import LockfileError
from layerplan.lockfiles.format import LockFormat
from layerplan.lockfiles.model import Lock

__all__ = ["find_lock", "read_lock"]


def find_lock(
    project_root: Path,
    formats: Sequence[LockFormat],
    explicit: Path | None = None,
    search_up_to: Path | None = None,
) -> tuple[Path, LockFormat]:
    """Pick the lockfile: ``explicit`` when given, else the best one found.

    Auto-detection looks in ``project_root``, then in each parent up to and including
    ``search_up_to`` (a uv workspace root keeps the lock of all its members). Within a
    directory the format with the lowest ``priority`` wins.
    """
    ordered = sorted(formats, key=lambda f: (f.priority, f.name))
    if explicit is not None:
        if not explicit.exists():
            raise LockfileError("lockfile not found", path=explicit, hint="check the --lock path")
        if explicit.is_dir():
            return find_lock(explicit, formats)
        for lock_format in ordered:
            if lock_format.accepts(explicit):
                return explicit, lock_format
        known = ", ".join(p for f in ordered for p in f.filenames)
        raise LockfileError(
            "not a lockfile layerplan can read",
            path=explicit,
            hint=f"name it after its format ({known})",
        )
    directories = [project_root]
    if search_up_to is not None and search_up_to != project_root:
        directories.extend(p for p in project_root.parents if p == search_up_to or search_up_to in p.parents)
    for directory in directories:
        names = sorted(p for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []
        for lock_format in ordered:
            for candidate in names:
                if lock_format.detects(candidate):
                    return candidate, lock_format
    known = ", ".join(p for f in ordered for p in f.filenames)
    raise LockfileError(
        "no lockfile found",
        path=project_root,
        hint=f"create one (e.g. `uv lock`), or pass --lock PATH; layerplan reads {known}",
    )


def read_lock(path: Path, lock_format: LockFormat) -> Lock:
    """Read ``path`` with ``lock_format``; the reader raises ``LockfileError`` on bad input."""
    return lock_format.read(path)
