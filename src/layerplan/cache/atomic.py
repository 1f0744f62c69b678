"""Write a file so that readers see either nothing or the whole file.

Every file layerplan produces (cache blobs, layer tarballs, archives, layout files) is
written to a temporary sibling, flushed to disk and renamed into place. A process killed
at any moment leaves at most a ``.tmp-`` file behind, which readers ignore and
``BlobCache.prune`` removes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["TEMP_MARKER", "atomic_directory", "atomic_write", "fsync_dir", "is_temp_name"]

TEMP_MARKER = ".tmp-"


def is_temp_name(name: str) -> bool:
    """True for the name of a temporary file made by :func:`atomic_write`."""
    return name.startswith(".") and TEMP_MARKER in name


def fsync_dir(path: Path) -> None:
    """Flush a directory entry (a rename) to disk; a no-op where that is unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(dest: Path, *, mode: int = 0o644, temp_dir: Path | None = None) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``dest`` when the block ends without error.

    The temporary file lives in ``temp_dir`` (default: ``dest``'s directory, which must
    be on the same file system). On an exception it is removed and ``dest`` is left as
    it was.
    """
    directory = temp_dir or dest.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{dest.name[:40]}{TEMP_MARKER}")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(dest.parent)


@contextlib.contextmanager
def atomic_directory(dest: Path, *, replace: bool = True) -> Iterator[Path]:
    """Yield a new, empty, hidden sibling of ``dest`` to fill; when the block ends
    without error it becomes ``dest``.

    ``replace=True``: an existing ``dest`` is swapped out (rename, rename back on
    failure) and removed, so readers see the old tree or the new one, never a mix.
    ``replace=False``: first writer wins; if ``dest`` exists by then (another process
    made it), the new tree is dropped and ``dest`` is left alone. On an exception the
    new tree is removed and ``dest`` is left as it was; a kill leaves at most a
    ``.<name>.tmp-*`` sibling, which :func:`is_temp_name` recognises.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name[:40]}{TEMP_MARKER}", dir=dest.parent))
    try:
        yield staging
        staging.chmod(0o755)
        if not dest.exists():
            try:
                os.rename(staging, dest)
            except OSError:
                if replace or not dest.exists():
                    raise
                shutil.rmtree(staging, ignore_errors=True)  # lost a race to another writer: keep theirs
        elif not replace:
            shutil.rmtree(staging, ignore_errors=True)
        else:
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name[:40]}{TEMP_MARKER}old-", dir=dest.parent))
            os.rmdir(old)
            os.rename(dest, old)
            try:
                os.rename(staging, dest)
            except BaseException:
                os.rename(old, dest)
                raise
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(dest.parent)
