"""Write a file or a directory so that readers see either nothing or the whole of it.

Every file layerplan produces (cache entries, layer tarballs, archives, layout files)
goes through :func:`atomic_write`: a temporary file, locked while it is written,
flushed to disk and renamed into place. Cached build environments go through
:func:`atomic_directory` the same way. A process killed at any moment leaves at most a
``.<name>.tmp-*`` file or directory, which readers ignore (:func:`is_temp_name`) and
:func:`remove_if_abandoned` (``layerplan cache prune``) removes.

The lock is what lets a pruner tell a killed writer's leftover from a live writer's
work: a writer holds an exclusive ``flock`` on its temporary from creation until it is
renamed or removed, so a pruner that gets the lock knows nobody is writing it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from layerplan.cache.temps import TEMP_MARKER, is_temp_name, sibling_prefix
from layerplan.errors import disk_full

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "TEMP_MARKER",
    "atomic_directory",
    "atomic_write",
    "fsync_dir",
    "is_temp_name",
    "locked_temp_dir",
    "locked_temp_file",
    "remove_if_abandoned",
]

#: without ``fcntl`` a temporary cannot be locked; it counts as abandoned after this long
_DEAD_TEMP_AGE = 24 * 3600.0


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
def atomic_write(
    dest: Path | Callable[[], Path | None],
    *,
    mode: int = 0o644,
    temp_dir: Path | None = None,
    label: str | None = None,
    durable: bool = True,
) -> Iterator[BinaryIO]:
    """Yield a binary file that becomes ``dest`` when the block ends without error.

    ``dest`` may also be a function, called once the block's body has finished (a
    content-addressed store knows the name only once the bytes are written); it returns
    the destination, or ``None`` to drop the file, and may raise to refuse it.

    The temporary file lives in ``temp_dir`` (default: ``dest``'s directory; it must be
    on the same file system), is named ``.<label or dest's name>.tmp-*`` and stays
    locked until it is renamed, so :func:`remove_if_abandoned` never takes it. It is
    fsynced before the rename and the directory after. On an exception it is removed
    and ``dest`` is left as it was.

    ``durable=False`` skips both fsyncs, for a hint the cache can lose (where a blob was
    seen): readers still see the old file or the whole new one, but a power cut may leave
    it empty, which its reader must take as no record. It saves a few milliseconds per
    file, which a rebuild that records two new blobs would otherwise wait for.
    """
    if callable(dest):
        if temp_dir is None:
            raise ValueError("atomic_write: a destination decided later needs a temp_dir")
        directory, name = temp_dir, label or "file"
    else:
        directory, name = temp_dir or dest.parent, label or dest.name
    where = directory if callable(dest) else dest
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = locked_temp_file(directory, sibling_prefix(name))
    except OSError as error:
        if (full := disk_full(error, where)) is not None:
            raise full from error
        raise
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
            target = dest() if callable(dest) else dest
            if target is None:
                os.unlink(tmp)
                return
            os.fchmod(handle.fileno(), mode)
            _rename_into(tmp, target)  # still locked: a pruner never takes a finished temp
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if (full := disk_full(error, where)) is not None:
            raise full from error  # the temp is gone: nothing half-written stays
        raise
    if durable:
        fsync_dir(target.parent)


@contextlib.contextmanager
def atomic_directory(dest: Path, *, replace: bool = True) -> Iterator[Path]:
    """Yield a new, empty, hidden sibling of ``dest`` to fill; when the block ends
    without error it becomes ``dest``.

    ``replace=True``: an existing ``dest`` is swapped out (rename, rename back on
    failure) and removed, so readers see the old tree or the new one, never a mix.
    ``replace=False``: first writer wins; if ``dest`` exists by then (another process
    made it), the new tree is dropped and ``dest`` is left alone. On an exception the
    new tree is removed and ``dest`` is left as it was; a kill leaves at most a
    ``.<name>.tmp-*`` sibling, which :func:`is_temp_name` recognises. The sibling is
    locked like :func:`atomic_write`'s temporary while it is filled.
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging, lock = locked_temp_dir(dest.parent, sibling_prefix(dest.name))
    except OSError as error:
        if (full := disk_full(error, dest)) is not None:
            raise full from error
        raise
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
            old = Path(tempfile.mkdtemp(prefix=f"{sibling_prefix(dest.name)}old-", dir=dest.parent))
            os.rmdir(old)
            os.rename(dest, old)
            try:
                os.rename(staging, dest)
            except BaseException:
                os.rename(old, dest)
                raise
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if (full := disk_full(error, dest)) is not None:
            raise full from error
        raise
    finally:
        os.close(lock)
    fsync_dir(dest.parent)


def remove_if_abandoned(path: Path, *, dry_run: bool = False, now: float | None = None) -> bool:
    """Remove the temporary file or directory ``path`` unless a live writer holds it.

    True when it was removed (with ``dry_run``: would be). The removal happens while
    holding the writer's lock, so a writer can never start on a temporary that is being
    removed (see :func:`locked_temp_file`).
    """
    if os.path.islink(path):  # never layerplan's; nothing to lock, nothing to follow
        if not dry_run:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        return True
    if fcntl is None:  # pragma: no cover - not on Windows
        try:
            old = os.stat(path).st_mtime < (time.time() if now is None else now) - _DEAD_TEMP_AGE
        except FileNotFoundError:
            return False
        if old and not dry_run:
            _remove_tree_or_file(path)
        return old
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False  # gone already
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live writer holds the lock
        if not dry_run:
            _remove_tree_or_file(path)
        return True
    finally:
        os.close(fd)  # closing releases our lock


def _remove_tree_or_file(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _lock(fd: int) -> bool:
    """Lock a new temporary; False when a pruner removed it before we got the lock."""
    if fcntl is None:  # pragma: no cover - not on Windows
        return True
    fcntl.flock(fd, fcntl.LOCK_EX)
    return os.fstat(fd).st_nlink > 0


def locked_temp_file(directory: Path, prefix: str, suffix: str = "") -> tuple[int, str]:
    """A new temporary file named ``<prefix><random><suffix>`` (a name from
    :mod:`~layerplan.cache.temps`), locked until closed so that a pruner leaves it alone.

    Creating and locking are two steps; a pruner may take the file in between (it looks
    abandoned then), so a file found unlinked once locked is replaced by another.
    """
    while True:
        fd, path = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=suffix)
        if _lock(fd):
            return fd, path
        os.close(fd)


def locked_temp_dir(directory: Path, prefix: str) -> tuple[Path, int]:
    """A new temporary directory named ``<prefix><random>`` and the open, locked
    descriptor that protects it (closing it releases the lock)."""
    while True:
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=directory))
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        if _lock(fd):
            return path, fd
        os.close(fd)


def _rename_into(tmp: str, target: Path) -> None:
    """``os.replace`` into ``target``'s directory, making it if needed; a pruner may
    remove an empty fan-out directory between our ``mkdir`` and the rename, so that
    case makes it again."""
    for attempt in range(3):
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(tmp, target)
            return
        except FileNotFoundError:
            if attempt == 2 or not os.path.exists(tmp):
                raise
