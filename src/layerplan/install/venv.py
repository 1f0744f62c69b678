"""The environment skeleton: a virtual environment's frame, before any package.

What ``python -m venv --without-pip`` would leave at the image path, built on the host
for a base interpreter that exists only in the image: ``pyvenv.cfg``, the ``bin/python``
links to the base interpreter, an empty ``site-packages`` and (64-bit POSIX) the
``lib64 -> lib`` link. No activation scripts: nothing in a container sources them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from layerplan.install.layout import TargetVenv, staged

__all__ = ["make_venv", "pyvenv_cfg"]

_VERSION = re.compile(r"^3\.\d+(\.\d+)?([a-z]+\d+)?$")


def pyvenv_cfg(base_python: PurePosixPath, version: str, *, prompt: str | None = None) -> str:
    """The text of ``pyvenv.cfg`` for a venv over ``base_python`` (keys in venv's order)."""
    lines = [
        f"home = {base_python.parent}",
        "include-system-site-packages = false",
        f"version = {version}",
        f"executable = {base_python}",
    ]
    if prompt:
        lines.append(f"prompt = {prompt}")
    return "\n".join(lines) + "\n"


def _symlink(link: Path, target: str) -> None:
    if os.path.islink(link) and os.readlink(link) == target:
        return
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(target, link)


def make_venv(
    staging: Path,
    venv: TargetVenv,
    base_python: PurePosixPath,
    *,
    version: str | None = None,
    lib64: bool = True,
    prompt: str | None = None,
) -> tuple[PurePosixPath, ...]:
    """Create the skeleton of ``venv`` in the staging tree; return the image paths made.

    ``base_python`` is the image's interpreter (``/usr/local/bin/python3.12``);
    ``bin/python``, ``bin/python3`` and ``bin/python3.X`` link to it. ``version`` is
    the full version for ``pyvenv.cfg`` (default: ``venv.python_version``). ``lib64``
    adds the ``lib64 -> lib`` link that venv makes on 64-bit POSIX. Idempotent.
    """
    if not base_python.is_absolute():
        raise ValueError(f"the base interpreter must be an absolute image path, not {base_python}")
    version = version or venv.python_version
    if not _VERSION.match(version) or not version.startswith(venv.python_version):
        raise ValueError(f"version {version!r} does not match python {venv.python_version}")
    made: list[PurePosixPath] = []

    def directory(path: PurePosixPath) -> None:
        staged(staging, path).mkdir(parents=True, exist_ok=True)
        made.append(path)

    directory(venv.prefix)
    directory(venv.bin)
    directory(venv.prefix / "include")
    directory(venv.site_packages)
    cfg = venv.prefix / "pyvenv.cfg"
    staged(staging, cfg).write_text(pyvenv_cfg(base_python, version, prompt=prompt), encoding="utf-8")
    made.append(cfg)
    for link in venv.interpreter_links:
        _symlink(staged(staging, link), str(base_python))
        made.append(link)
    if lib64:
        _symlink(staged(staging, venv.prefix / "lib64"), "lib")
        made.append(venv.prefix / "lib64")
    return tuple(sorted(set(made)))
