"""Run by a build environment's interpreter, in the project's directory: call one PEP 517
hook of the project's backend, as ``pyproject_hooks``' ``_in_process.py`` does, and nothing
more (so layerplan need not import ``build`` and ``pyproject_hooks`` to call it).

``argv``: the request as JSON: ``hook`` (``build_wheel`` or ``get_requires_for_build_wheel``),
``backend`` (``module:object``), ``backend_path`` (absolute directories of an in-tree
backend), ``args`` (the hook's positional arguments), ``result`` (a file to write), and
optionally ``then`` (``{"hook", "args"}``: a second hook, called only when the first
returned an empty list: ``build_wheel`` after a ``get_requires_for_build_wheel`` that asks
for nothing more, in one process). The result file gets ``{"value": ...}`` (and ``"then":
...`` when the second hook ran), or ``{"unavailable": "..."}`` when the backend cannot
be imported. An exception of the backend ends this with its traceback on stderr (the last
line says why) and exit status 1. Kept free of layerplan imports on purpose.
"""

from __future__ import annotations

import sys

# This script's directory is layerplan's install/ package: never the backend's modules.
del sys.path[0]

import json  # noqa: E402
import traceback  # noqa: E402
from importlib import import_module  # noqa: E402
from importlib.machinery import ModuleSpec, PathFinder  # noqa: E402
from typing import Any  # noqa: E402


class _BackendPathFinder:
    """``backend-path``: the in-tree backend's top-level package comes from there first (and
    only from there), as ``pyproject_hooks`` does it."""

    def __init__(self, paths: list[str], module: str) -> None:
        self.paths = paths
        self.top = module.partition(".")[0]

    def find_spec(self, fullname: str, _path: object = None, _target: object = None) -> ModuleSpec | None:
        if "." in fullname:
            return None
        spec = PathFinder.find_spec(fullname, path=self.paths)
        if spec is None and fullname == self.top:
            raise ImportError(f"cannot find module {self.top!r} in backend-path {self.paths!r}")
        return spec

    def find_distributions(self, context: Any = None) -> Any:
        """The distributions in ``backend-path`` too (``importlib.metadata``), as ``pyproject_hooks``'."""
        from importlib.metadata import DistributionFinder, MetadataPathFinder

        name = context.name if context else None
        return MetadataPathFinder.find_distributions(context=DistributionFinder.Context(name=name, path=self.paths))


def load_backend(spec: str, paths: list[str]) -> Any:
    """The backend object ``spec`` (``module:object``) names, imported (once per process)."""
    module, _, attributes = spec.partition(":")
    if paths and not any(isinstance(finder, _BackendPathFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _BackendPathFinder(paths, module))
    backend = import_module(module)
    for name in filter(None, attributes.split(".")):
        backend = getattr(backend, name)
    return backend


def _call(backend: Any, request: dict[str, Any]) -> dict[str, Any]:
    hook = getattr(backend, request["hook"], None)
    if hook is not None:
        return {"value": hook(*request["args"])}
    if request["hook"] == "get_requires_for_build_wheel":
        return {"value": []}  # an optional hook
    return {"unavailable": f"{request['backend']} has no {request['hook']} hook"}


def run(request: dict[str, Any]) -> None:
    """Call the hook(s) ``request`` names and write the result file."""
    result: dict[str, Any]
    try:
        backend = load_backend(request["backend"], request["backend_path"])
    except (ImportError, AttributeError):
        result = {"unavailable": traceback.format_exc().strip().splitlines()[-1]}
    else:
        result = _call(backend, request)
        then = request.get("then")
        if then and result.get("value") == []:
            second = _call(backend, {**request, **then})
            result = {"value": [], "then": second["value"]} if "value" in second else second
    with open(request["result"], "w", encoding="utf-8") as stream:
        json.dump(result, stream)


def served(argv: list[str]) -> int:
    """One request in a fork of the backend's warm process (``_hook_server``): ``argv`` is
    this script's arguments; a backend's exception propagates (exit status 1, traceback)."""
    run(json.loads(argv[0]))
    return 0


if __name__ == "__main__":
    run(json.loads(sys.argv[1]))
