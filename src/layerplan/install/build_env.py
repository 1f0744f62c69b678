"""Making a PEP 517 build environment: a venv, its requirements installed (uv, else pip),
its modules compiled once, and the environment a backend hook runs with.

Compiling matters because a build environment is imported from by every backend call:
uv installs without bytecode, and where ``PYTHONDONTWRITEBYTECODE`` is set (as in many CI
images) Python never caches any, so each hook call compiled the backend's modules anew
(hatchling's: 0.09 of its 0.20 s).
"""

from __future__ import annotations

import contextlib
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
    "COMPILED_MARKER",
    "Installer",
    "backend_environ",
    "compile_environment",
    "find_installer",
    "index_options",
    "install_requirements",
    "new_environment",
]

COMPILED_MARKER = ".bytecode"
"""In a kept environment's directory once its modules are compiled (environments an older
layerplan made have none, and are compiled on their next use)."""


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
    Raise ``subprocess.CalledProcessError`` (``pep517.backend_reason`` tells why)."""
    installer = find_installer()
    if installer.executable is not None:
        command = [installer.executable, "pip", "install", "--quiet", "--python", str(python)]
    else:
        command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*command, *index_options(indexes), *requirements], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, command, done.stdout, done.stderr)


def compile_environment(python: Path) -> None:
    """Compile every module of the environment of ``python`` (its site-packages) with its own
    interpreter, so no backend call compiles them again.

    The pycs are the usual timestamp-checked ones (they never leave this machine, and an
    environment is never changed in place but by an install, which rewrites what it
    replaces); each is written to a temp file and renamed (``py_compile``), so a backend
    running beside this reads a whole pyc or none. A module that does not compile (a
    package's Python 2 test data) stays uncompiled: that is what importing it would do.
    """
    sites = sorted(str(path) for path in python.parent.parent.glob("lib/python*/site-packages"))
    if sites:
        # -qq: a module that does not compile is not an error here (see above); nor is an
        # interpreter that does not start: the backend's own call then says why
        with contextlib.suppress(OSError):
            # One process: `-j0`'s worker pool took longer (0.33-0.41 s) than it saved on an
            # environment of hatchling's size (0.24 s)
            subprocess.run([str(python), "-m", "compileall", "-qq", *sites], capture_output=True, check=False)


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


def backend_environ(source_date_epoch: int | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a backend hook runs with: this process's, isolated as pip's and uv's
    build environments are (the caller's ``PYTHONPATH`` or user site would put their own
    setuptools before the environment's), with ``SOURCE_DATE_EPOCH`` (the build's, else
    ``reproducible.source_date_epoch()``) and ``extra``."""
    epoch = source_date_epoch if source_date_epoch is not None else default_source_date_epoch()
    inherited = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    return {**inherited, "PYTHONNOUSERSITE": "1", **(extra or {}), "SOURCE_DATE_EPOCH": str(epoch)}
