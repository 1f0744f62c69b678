"""Install wheels into staging trees that mirror the image's filesystem.

* ``venv.make_venv``: the virtual environment's skeleton (``pyvenv.cfg``, ``bin/python``).
* ``wheel.install_wheel``: one wheel into the venv's paths, short shebangs, RECORD.
* ``bytecode.compile_tree``: reproducible ``.pyc`` files with the target's Python.
* ``pep517.build_wheel`` / ``local_wheel``: the project's own wheel and local
  dependencies', built by their PEP 517 backends.
* ``sdist_wheel.wheel_from_sdist``: the wheel of a registry package published only as an
  sdist, built in isolation, normalized (``normalize``) and kept in the store.

The names are loaded on first use (PEP 562), as in ``layerplan.resolution``: a rebuild
that finds the app's wheel by its fingerprint (``project_wheel``) installs nothing, and
``installer`` with the wheel, bytecode and venv code cost ~0.05 s to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from layerplan.install.bytecode import CompileResult, compile_tree, find_compiler, find_interpreter
    from layerplan.install.errors import BuildError, ImpureWheelError, InstallError, UnsafeWheelError
    from layerplan.install.layout import TargetVenv, staged
    from layerplan.install.pep517 import DEFAULT_SOURCE_DATE_EPOCH, build_wheel, is_pure, local_wheel
    from layerplan.install.venv import make_venv, pyvenv_cfg
    from layerplan.install.wheel import INSTALLER_NAME, InstalledWheel, check_wheel_archive, install_wheel

_MODULES = {
    "DEFAULT_SOURCE_DATE_EPOCH": "pep517",
    "build_wheel": "pep517",
    "is_pure": "pep517",
    "local_wheel": "pep517",
    "CompileResult": "bytecode",
    "compile_tree": "bytecode",
    "find_compiler": "bytecode",
    "find_interpreter": "bytecode",
    "BuildError": "errors",
    "ImpureWheelError": "errors",
    "InstallError": "errors",
    "UnsafeWheelError": "errors",
    "TargetVenv": "layout",
    "staged": "layout",
    "make_venv": "venv",
    "pyvenv_cfg": "venv",
    "INSTALLER_NAME": "wheel",
    "InstalledWheel": "wheel",
    "check_wheel_archive": "wheel",
    "install_wheel": "wheel",
}

__all__ = [
    "DEFAULT_SOURCE_DATE_EPOCH",
    "INSTALLER_NAME",
    "BuildError",
    "CompileResult",
    "ImpureWheelError",
    "InstallError",
    "InstalledWheel",
    "TargetVenv",
    "UnsafeWheelError",
    "build_wheel",
    "check_wheel_archive",
    "compile_tree",
    "find_compiler",
    "find_interpreter",
    "install_wheel",
    "is_pure",
    "local_wheel",
    "make_venv",
    "pyvenv_cfg",
    "staged",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
