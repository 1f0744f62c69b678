"""Making a PEP 517 build environment: a venv, its requirements installed (uv, else pip),
and the environment a backend hook runs with.

A backend hook runs with bytecode caching on, into a directory of the build environment
(``PYTHONPYCACHEPREFIX``): uv installs no bytecode, and where ``PYTHONDONTWRITEBYTECODE``
is set (as in many CI images) Python would cache none, so each hook call compiled the
backend's modules anew (hatchling's: 0.09 of its 0.20 s). The first call caches exactly
what it imports; compiling the whole environment up front (0.24 s for hatchling's) was on
a fresh runner's critical path. The prefix also keeps every ``__pycache__`` out of the
project's tree, whose modules a backend may import (setuptools' ``attr:`` version). See
``hook_bytecode`` for the prefix and the standard library's pycs in it.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from layerplan.install.errors import BuildError
from layerplan.reproducible import source_date_epoch as default_source_date_epoch

__all__ = [
    "Installer",
    "backend_environ",
    "find_installer",
    "index_options",
    "install_requirements",
    "new_environment",
]

@dataclass(frozen=True, slots=True)
class Installer:
    """What installs a build environment's requirements: ``uv`` (a binary) or ``pip``."""

    kind: Literal["uv", "pip"]
    executable: str | None = None
    """The uv binary; ``None`` for pip, which runs as ``python -m pip`` in the environment."""


@functools.lru_cache(maxsize=1)
def find_installer() -> Installer:
    """uv from its Python package (``uv.find_uv_bin()``: works with no ``uv`` on PATH,
    e.g. in a venv run without activating it), else ``$UV`` or ``uv`` on PATH, else pip."""
    try:
        import uv

        return Installer("uv", uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which(os.environ.get("UV") or "uv")
    return Installer("uv", found) if found else Installer("pip")


def index_options(indexes: Sequence[str]) -> list[str]:
    """``--index-url FIRST --extra-index-url ...``: what uv pip and pip both understand."""
    if not indexes:
        return []
    return ["--index-url", indexes[0], *(arg for url in indexes[1:] for arg in ("--extra-index-url", url))]


def install_requirements(python: Path, requirements: Sequence[str], *, indexes: Sequence[str] = ()) -> None:
    """Install ``requirements`` into the environment of ``python`` (uv, else pip), from
    ``indexes`` (first is primary) when given, else the installer's default.
    Raise ``subprocess.CalledProcessError`` (``pep517.backend_reason`` tells why).

    uv tries its own cache alone first (``--offline``), then the index: online, uv asks
    the index again for every package's page (PyPI's pages may be kept 10 minutes, a
    proxy's often not at all): 0.2 s of waiting for hatchling and its five dependencies
    on a fresh runner whose uv cache is warm (restored by CI). The versions are then the
    newest uv has seen, not necessarily the index's newest: an unpinned build requirement
    was never more than that (a kept environment keeps the versions it got), and one uv
    has not seen (a new pin, a newer lower bound) fails offline and comes from the index.
    No requirements (an in-tree backend with ``requires = []``): nothing to run."""
    if not requirements:
        return  # uv and pip both refuse an install of nothing
    installer = find_installer()
    if installer.executable is not None:
        command = [installer.executable, "pip", "install", "--quiet", "--python", str(python)]
        offline = subprocess.run(
            [*command, "--offline", *index_options(indexes), *requirements], capture_output=True, text=True, check=False
        )
        if offline.returncode == 0:
            return
    else:
        # --no-compile: a hook reads its bytecode from the environment's own cache (hook_bytecode)
        command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    done = subprocess.run([*command, *index_options(indexes), *requirements], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, command, done.stdout, done.stderr)


def new_environment(path: Path) -> None:
    """A build environment; with pip in it when uv is not there to install into it.

    A Python without ``ensurepip`` (Debian's, without python3-venv) cannot make one
    with pip: that is one line saying how to get an installer, not a traceback.
    """
    import venv  # only to make an environment: not on a rebuild's path

    with_pip = find_installer().kind == "pip"
    try:
        venv.EnvBuilder(with_pip=with_pip, symlinks=True).create(path)
    except (subprocess.CalledProcessError, OSError) as error:
        raise BuildError(
            f"cannot create a build environment with {sys.executable}: {error}",
            hint="install uv beside layerplan (`pip install uv`), or Python's venv/ensurepip "
            "(Debian: apt-get install python3-venv)",
        ) from None


_NOT_INHERITED = frozenset({"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE"})


def backend_environ(
    source_date_epoch: int | None, extra: Mapping[str, str] | None = None, *, bytecode_cache: Path | None = None
) -> dict[str, str]:
    """The environment a backend hook runs with: this process's, isolated as pip's and uv's
    build environments are (the caller's ``PYTHONPATH`` or user site would put their own
    setuptools before the environment's), with ``SOURCE_DATE_EPOCH`` (the build's, else
    ``reproducible.source_date_epoch()``) and ``extra``.

    With ``bytecode_cache`` (a directory of the build environment), the hook caches the
    bytecode of every module it imports there (``PYTHONPYCACHEPREFIX``), even where
    ``PYTHONDONTWRITEBYTECODE`` is set, and writes no ``__pycache__`` anywhere else: not in
    the project's tree, so no pyc can reach the wheel. Python writes each pyc to a temp file
    and renames it, so hooks running at once read a whole pyc or none."""
    epoch = source_date_epoch if source_date_epoch is not None else default_source_date_epoch()
    dropped = _NOT_INHERITED if bytecode_cache is None else _NOT_INHERITED | {"PYTHONDONTWRITEBYTECODE"}
    inherited = {k: v for k, v in os.environ.items() if k not in dropped}
    # Absolute: a relative prefix would be taken from the hook's working directory, the project
    cached = {} if bytecode_cache is None else {"PYTHONPYCACHEPREFIX": os.path.abspath(bytecode_cache)}
    return {**inherited, "PYTHONNOUSERSITE": "1", **cached, **(extra or {}), "SOURCE_DATE_EPOCH": str(epoch)}
