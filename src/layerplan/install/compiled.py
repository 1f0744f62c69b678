"""Bytecode for a layer's staging tree, compiled once per wheel and kept in the cache.

The pycs of a wheel depend only on its files, where they are installed, the target's
Python and how they are compiled -- not on the layer or the project that installs it.
So each cacheable wheel (one known by its sha256: a registry wheel or one built from an
sdist) has its pycs kept in the store's ``bytecode`` area under :func:`bytecode_key`, and
every later layer or project that installs the same wheel for the same target copies
them instead of compiling. Whatever is left (the app, local packages, wheels seen for
the first time) is compiled in one call to the target's interpreter, on every core.
A restored pyc is byte-identical to a compiled one: the key holds all that decides it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from layerplan.cache.bytecode import CompiledBytecode
from layerplan.install.bytecode import INVALIDATION, Compiler, compile_tree, interpreter_version, pyc_paths
from layerplan.install.layout import TargetVenv
from layerplan.install.wheel import InstalledWheel
from layerplan.oci.digest import canonical_json

__all__ = ["BYTECODE_FORMAT", "LayerBytecode", "bytecode_key", "compile_layer"]

BYTECODE_FORMAT = "layerplan-bytecode/1"
"""Bumped whenever pycs are compiled differently (driver, hash seed, ...)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerBytecode:
    """What :func:`compile_layer` did."""

    compiled: int
    """Sources compiled here."""
    reused: tuple[str, ...]
    """Names of the wheels whose pycs came from the store."""
    stored: tuple[str, ...]
    """Names of the wheels whose pycs were compiled here and kept."""
    failed: tuple[PurePosixPath, ...]
    """Image paths of sources that are not valid Python for the target (left as source)."""


def bytecode_key(
    wheel_sha256: str, venv: TargetVenv, *, interpreter: Path, optimize: Sequence[int] = (0,)
) -> str:
    """The store key of a wheel's pycs: wheel sha256, the target's Python version and the
    compiling interpreter's exact version, the install path the pycs record, optimization
    levels, invalidation mode and this format."""
    payload = {
        "format": BYTECODE_FORMAT,
        "wheel": wheel_sha256,
        "python": venv.python_version,
        "compiler": interpreter_version(interpreter),
        "site_packages": str(venv.site_packages),
        "optimize": list(optimize),
        "invalidation": INVALIDATION,
    }
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def _sources(staging: Path, top: PurePosixPath) -> list[PurePosixPath]:
    found: list[PurePosixPath] = []
    root = staging / top.relative_to("/")
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        image_dir = top / Path(directory).relative_to(root).as_posix()
        found.extend(image_dir / name for name in sorted(files) if name.endswith(".py"))
    return found


def compile_layer(
    staging: Path,
    venv: TargetVenv,
    wheels: Sequence[tuple[InstalledWheel, str | None]],
    *,
    interpreter: Path,
    store: CompiledBytecode | None,
    optimize: Sequence[int] = (0,),
    compiler: Compiler | None = None,
) -> LayerBytecode:
    """Give every source under the venv's site-packages in ``staging`` its pycs; with
    ``compiler`` (started for ``interpreter`` before the install), in that process.

    ``wheels``: what was installed into ``staging``, in order, each with its sha256 (``None``:
    not kept in the store, e.g. the app's wheel). A wheel one of whose sources a later
    wheel replaced is compiled, not restored or kept. Raise ``InstallError`` when the
    interpreter fails.
    """
    site = venv.site_packages
    own = [[path for path in wheel.files if path.suffix == ".py" and site in path.parents] for wheel, _ in wheels]
    owner = {path: index for index, sources in enumerate(own) for path in sources}  # the last writer wins
    done: set[PurePosixPath] = set()
    failed: list[PurePosixPath] = []
    reused: list[str] = []
    pending: list[tuple[str, str, list[PurePosixPath]]] = []
    for index, (wheel, sha256) in enumerate(wheels):
        sources = own[index]
        if store is None or sha256 is None or any(owner[path] != index for path in sources):
            continue
        key = bytecode_key(sha256, venv, interpreter=interpreter, optimize=optimize)
        hit = store.find(key)
        if hit is None:
            pending.append((wheel.name, key, sources))
            continue
        store.restore(hit, staging)
        done.update(sources)
        failed.extend(hit.failed)
        reused.append(wheel.name)
    rest = [path for path in _sources(staging, site) if path not in done]
    compiled = 0
    if rest:
        result = compile_tree(staging, venv, files=rest, interpreter=interpreter, optimize=optimize, compiler=compiler)
        compiled = result.compiled
        failed.extend(result.failed)
    not_compiled = set(failed)
    stored: list[str] = []
    for name, key, sources in pending:
        pycs = [
            pyc
            for source in sources
            for pyc in pyc_paths(source, venv.python_version, optimize)
            if (staging / pyc.relative_to("/")).is_file()
        ]
        assert store is not None  # pending only holds wheels looked up in it
        store.store(key, staging, pycs, [source for source in sources if source in not_compiled])
        stored.append(name)
    return LayerBytecode(compiled=compiled, reused=tuple(reused), stored=tuple(stored), failed=tuple(sorted(set(failed))))
