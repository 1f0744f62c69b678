"""Run by a build environment's interpreter, in the project's directory, with the hook's
environment: the app backend's warm process, for layerplan's build daemon.

It imports the backend once (as ``_hook_driver`` does for one call) and then serves hook
calls, each in a fork of itself: layerplan's warm server (``layerplan/warm/server.py``),
loaded here under the private name ``_layerplan_warm`` because a build environment has no
``layerplan`` (and must not get one: the backend sees only its own packages). Each call
is ``_hook_driver.served`` with the driver's usual request, in a process that has imported
the backend and done nothing else, as a fresh hook process would be, but ~0.06 s sooner.

``argv``: JSON settings: ``key`` and ``directory`` (the server's address), ``backend``,
``backend_path``, ``idle_seconds``. Kept free of layerplan imports on purpose.
"""

from __future__ import annotations

import sys

# This script's directory is layerplan's install/ package: never the backend's modules.
del sys.path[0]

import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
from types import ModuleType  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name: str, path: str, package: str | None = None) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=[package] if package else None)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    settings = json.loads(sys.argv[1])
    warm = os.path.join(os.path.dirname(_HERE), "warm")
    _load("_layerplan_warm", os.path.join(warm, "__init__.py"), package=warm)
    driver = _load("_layerplan_hook_driver", os.path.join(_HERE, "_hook_driver.py"))
    from _layerplan_warm.address import Address  # type: ignore[import-not-found]
    from _layerplan_warm.server import Server  # type: ignore[import-not-found]

    address = Address(key=settings["key"], directory=settings["directory"])
    server = Server(address, target="_layerplan_hook_driver:served", idle_seconds=float(settings["idle_seconds"]), learn=True)
    server.serve(lambda: driver.load_backend(settings["backend"], settings["backend_path"]))


if __name__ == "__main__":
    main()
