"""Builds hold the cache; ``cache prune`` waits for them, and they for it.

A build's cache hit is a promise that a blob, a wheel or a build environment is there
until the image is written; ``prune --all`` breaking that promise made builds fail with
"blob ... is not in the cache". So every build holds a *lease* for its whole run: a
temporary file in ``leases/`` under an exclusive ``flock`` (the kernel drops it when the
build ends, however it ends). A pruner:

1. closes the gate: an exclusive ``flock`` on the ``leases/`` directory itself, which a
   build takes shared only while it creates its lease, so no build starts meanwhile
   (and a stream of overlapping builds cannot keep a pruner waiting forever);
2. counts the leases still locked, says it waits for those N builds, and waits for each
   lock (a killed build's lease is unlocked: it is removed at once);
3. prunes, then opens the gate.

A build that finds the gate closed says it waits for the prune, and waits. Waiting, not
skipping: what a build holds is not known up front (a cache hit found later, a build
environment made midway), and a prune is seconds. Without ``fcntl`` (Windows) nothing is
locked and the two may still collide, as before.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from layerplan.cache.atomic import locked_temp_file, remove_if_abandoned
from layerplan.cache.layout import LEASES, CacheError
from layerplan.cache.temps import is_temp_name, sibling_prefix

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["build_lease", "exclusive_use"]

Say = Callable[[str], None]


@contextlib.contextmanager
def build_lease(root: Path, *, say: Say | None = None) -> Iterator[None]:
    """Hold the cache at ``root`` for a build while the block runs: ``cache prune`` waits.

    Waits (saying so through ``say``) while a prune runs. Raise ``CacheError`` when the
    cache directory cannot be made.
    """
    if fcntl is None:  # pragma: no cover - not on Windows
        yield
        return
    leases = LEASES.under(root)
    try:
        leases.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CacheError(
            f"cannot use the cache: {error.strerror or error}",
            path=root,
            hint="pass --cache-dir a writable directory, or set LAYERPLAN_CACHE_DIR to one",
        ) from error
    with _gate(leases, fcntl.LOCK_SH, say, f"layerplan: waiting for `layerplan cache prune` to finish with {root}"):
        fd, path = locked_temp_file(leases, sibling_prefix("build"))
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


@contextlib.contextmanager
def exclusive_use(root: Path, *, say: Say | None = None) -> Iterator[None]:
    """Hold the cache at ``root`` alone while the block runs (``cache prune``): wait for
    the running builds (saying how many through ``say``), and keep new ones waiting.

    A missing cache, or one that is not a directory, is not waited for (the caller reports it).
    """
    leases = LEASES.under(root)
    if fcntl is None or not root.is_dir():  # pragma: no branch - Windows
        yield
        return
    with contextlib.suppress(OSError):
        leases.mkdir(exist_ok=True)
    with _gate(leases, fcntl.LOCK_EX, say, f"layerplan: waiting for another `layerplan cache prune` of {root}"):
        _wait_for_builds(leases, root, say)
        yield


@contextlib.contextmanager
def _gate(leases: Path, mode: int, say: Say | None, waiting: str) -> Iterator[None]:
    """``flock(mode)`` on the ``leases`` directory while the block runs; when it is held
    elsewhere for more than an instant (a build only holds it to create its lease), say
    ``waiting`` and wait."""
    assert fcntl is not None
    try:
        fd = os.open(leases, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # not ours to make (a read-only cache): nothing to exclude
        yield
        return
    try:
        if not _try_lock(fd, mode, attempts=5):
            if say is not None:
                say(waiting)
            fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # releases the gate


def _try_lock(fd: int, mode: int, *, attempts: int) -> bool:
    assert fcntl is not None
    for attempt in range(attempts):
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < attempts:
                time.sleep(0.05)
    return False


def _wait_for_builds(leases: Path, root: Path, say: Say | None) -> None:
    """Wait until every lease that is locked now is released (its build ended)."""
    assert fcntl is not None
    try:
        names = sorted(name for name in os.listdir(leases) if is_temp_name(name))
    except OSError:
        return
    live = [leases / name for name in names if not remove_if_abandoned(leases / name)]
    if not live:
        return
    if say is not None:
        builds = "build" if len(live) == 1 else "builds"
        say(f"layerplan: waiting for {len(live)} running {builds} using {root} to finish")
    for lease in live:
        try:
            fd = os.open(lease, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue  # that build is done already
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lease)  # a killed build's: its lock went with it
        finally:
            os.close(fd)
