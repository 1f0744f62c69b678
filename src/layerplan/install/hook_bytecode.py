"""Where a build environment's backend hooks cache their bytecode: a directory of the
environment given as ``PYTHONPYCACHEPREFIX`` (``build_env.backend_environ``), seeded with
links to the standard library's own pycs.

With a prefix, Python reads and writes every pyc in a mirror of the source's absolute
path under it (``<prefix>/usr/lib/python3.11/json/decoder.cpython-311.pyc``) and no longer
looks in ``__pycache__`` directories: not even the standard library's, which came compiled.
A hook then compiled the ~90 stdlib modules hatchling imports (0.27 s of CPU) on its first
call. A link per stdlib pyc (a hard link, else a symbolic one), made beside the
environment's install (~0.01 s for ~560), gives the first call those pycs. A link is only
read: a stale one is recompiled and written in its place (Python writes a pyc to a temp
file and renames it over the link), never into the standard library.

The pycs of the project's own modules (which a backend may import: setuptools' ``attr:``
version, a hatch build hook, an in-tree backend) are dropped before each hook
(``forget_tree_bytecode``): Python checks a pyc by its source's size and mtime in whole
seconds, so an edit of the same size in the same second (a script that edits and builds)
would run the old code, and its wheel would be kept under the new sources' fingerprint.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["BYTECODE_DIR", "forget_tree_bytecode", "link_stdlib_bytecode", "linking_stdlib_bytecode"]

BYTECODE_DIR = "pycache"
"""In a build environment's directory: the ``PYTHONPYCACHEPREFIX`` of its backend hooks."""

_SKIPPED = frozenset({"__pycache__", "test", "tests", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip"})
"""Standard library directories no backend imports from (``test`` alone is half the pycs)."""


def link_stdlib_bytecode(cache: Path) -> None:
    """Link each pyc of this interpreter's standard library (the one build environments are
    made from) into the prefix directory ``cache``, where a hook looks for it. Best effort:
    a link that exists (another build's, or a pyc a hook wrote) is left alone, and an
    error only means that a hook compiles that module once."""
    import sysconfig  # only when an environment is made: not on a rebuild's path

    stdlib = sysconfig.get_paths()["stdlib"]
    # Compiled as this interpreter reads them: the cache tag, no optimization level
    suffix = f".{sys.implementation.cache_tag}.pyc"
    with contextlib.suppress(OSError):
        # Hard links: a symbolic link whose target is this long costs ext4 a block (0.1-0.25 s
        # for the ~560, against 0.01 s), and the environment's key (the Python's full
        # sys.version, build date included) changes when the standard library does
        _link_tree(os.path.abspath(cache), stdlib, suffix, [os.link])


def _link_tree(cache: str, directory: str, suffix: str, linker: list[Callable[[str, str], None]]) -> None:
    compiled = os.path.join(directory, "__pycache__")
    try:
        pycs = [name for name in os.listdir(compiled) if name.endswith(suffix)]
    except OSError:
        pycs = []
    if pycs:
        mirror = cache + directory  # `directory` is absolute: the prefix's layout
        os.makedirs(mirror, exist_ok=True)
        for name in pycs:
            source, link = os.path.join(compiled, name), os.path.join(mirror, name)
            try:
                linker[0](source, link)
            except FileExistsError:
                pass
            except OSError:
                if linker[0] is os.symlink:
                    raise
                # Another file system, or a file Linux's protected_hardlinks keeps us from
                # linking: symbolic links from here on
                linker[0] = os.symlink
                with contextlib.suppress(FileExistsError):
                    os.symlink(source, link)
    with os.scandir(directory) as entries:
        for entry in entries:
            # A package's name has no '-' or '.': that skips site-packages, lib-dynload, config-*
            if entry.name in _SKIPPED or "-" in entry.name or "." in entry.name:
                continue
            if entry.is_dir(follow_symlinks=False):
                _link_tree(cache, entry.path, suffix, linker)


@contextlib.contextmanager
def linking_stdlib_bytecode(cache: Path) -> Iterator[None]:
    """``link_stdlib_bytecode(cache)`` in a thread while the block runs (an install: its
    installer's subprocess leaves this process idle), done when the block ends."""
    import threading

    worker = threading.Thread(target=link_stdlib_bytecode, args=(cache,), name="layerplan-stdlib-pycs", daemon=True)
    worker.start()
    try:
        yield
    finally:
        worker.join()


def forget_tree_bytecode(cache: Path, tree: Path) -> None:
    """Remove the pycs the prefix directory ``cache`` holds for the modules under ``tree``
    (a project's source, which changes between builds; see above), but those of the build
    environment itself when it lies in ``tree`` (a ``--cache-dir`` inside the project).
    Best effort: what cannot be removed is at worst read as Python would read it."""
    prefix, tree_path = os.path.abspath(cache), os.path.abspath(tree)
    mirror = prefix + tree_path
    # Never the whole prefix (the standard library's links), nor through a link that leads
    # out of it (Python makes none there: a damaged cache's would remove what it points to)
    if tree_path != os.sep and os.path.realpath(mirror).startswith(os.path.realpath(prefix) + os.sep):
        # The environment is the prefix's parent: its own modules' pycs are mirrored here
        _remove_but(mirror, prefix + os.path.dirname(prefix))


def _remove_but(path: str, keep: str) -> None:
    """Remove ``path`` (a tree), but ``keep`` and what is under it."""
    if path == keep:
        return
    if not keep.startswith(path + os.sep):
        shutil.rmtree(path, ignore_errors=True)
        return
    with contextlib.suppress(OSError), os.scandir(path) as entries:
        for entry in list(entries):
            if entry.is_dir(follow_symlinks=False):
                _remove_but(entry.path, keep)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
