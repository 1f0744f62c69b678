"""Run the layerplan CLI with wall-clock timers around its build phases; print them as JSON on stderr.

    .venv/bin/python bench/build/layerplan_phases.py build PROJECT --base ... --output ...

No profiler overhead: only the named functions below are wrapped, when the build imports
their module (a name the code no longer has is skipped), plus every ``subprocess.run`` and
the hook and compiler processes (started before they are needed, joined later).
The last line on stderr is ``LAYERPLAN-PHASES {json}``: seconds per phase, with ``import``
(``import layerplan.cli.main``), ``total`` (import + main) and ``other`` (the rest of main:
argument parsing, modules the command imports lazily, the JSON report...). Phases of other
threads (the app wheel's thread on a first build, the layer builders) are summed with the
main thread's, so where they overlap it ``other`` comes out smaller than the main thread's rest.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.machinery
import json
import subprocess
import sys
import threading
import time
from collections import defaultdict
from typing import Any

_start = time.perf_counter()
import layerplan.cli.main as cli_main

_imported = time.perf_counter()

#: (module, function, phase). Nested phases are excluded from their parent below.
WRAPPED = (
    ("layerplan.resolution.resolve", "read_project", "read project"),
    ("layerplan.resolution.resolve", "load_lock", "read lock"),
    ("layerplan.transports.remote", "pull_image", "base manifest"),
    ("layerplan.resolution.base", "base_platform", "base platform"),
    ("layerplan.containerize.pipeline", "plan_build", "plan"),
    ("layerplan.containerize.app", "project_wheel", "app wheel (fingerprint, else PEP 517)"),  # a first build
    ("layerplan.containerize.app", "start_project_wheel", "app wheel start (fingerprint, backend started)"),
    ("layerplan.containerize.app", "AppWheel.get", "app wheel wait (joining the backend)"),
    ("layerplan.install.pep517", "local_wheel", "local wheels (PEP 517)"),  # imported where used: wrapped at home
    ("layerplan.install.wheel", "install_wheel", "install wheels"),
    ("layerplan.install.compiled", "compile_layer", "compile bytecode"),
    ("layerplan.containerize.layers", "build_layer_into_cache", "tar + gzip layers"),
    ("layerplan.containerize.layers", "LayerBuilder._fetch", "fetch wheels"),
    ("layerplan.containerize.pipeline", "assemble_image", "assemble image"),
    ("layerplan.containerize.pipeline", "_annotations", "git annotations"),
    ("layerplan.sbom.attach", "sbom_artifacts", "SBOMs"),
    ("layerplan.registry", "push_image", "push"),
    ("layerplan.transports.remote", "_already_there", "output up-to-date check"),
)

totals: dict[str, float] = defaultdict(float)
calls: dict[str, int] = defaultdict(int)
_local = threading.local()  # phases nest within a thread; threads' phases overlap (summed)


def _wrap(function: Any, phase: str) -> Any:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        _active: list[str] = _local.__dict__.setdefault("active", [])
        if _active:  # nested in another phase: counted there
            return function(*args, **kwargs)
        _active.append(phase)
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            totals[phase] += time.perf_counter() - start
            calls[phase] += 1
            _active.pop()

    return timed


def _wrap_in(module: Any, attribute: str, phase: str) -> None:
    try:
        owner: Any = module
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, name, _wrap(getattr(owner, name), phase))
    except AttributeError:
        print(f"layerplan_phases: {module.__name__}.{attribute} not found, not timed", file=sys.stderr)


class _WrapOnImport(importlib.abc.MetaPathFinder):
    """Wraps a module's functions once the module is loaded, where the build loads it: an
    import done up front would move its cost out of the build's own order (and hide what
    overlaps what, e.g. the app's backend running while the build imports)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        wanted = [(attribute, phase) for module_name, attribute, phase in WRAPPED if module_name == fullname]
        if not wanted:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module: Any) -> None:
            run(module)
            for attribute, phase in wanted:
                _wrap_in(module, attribute, phase)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


for module_name, _, _ in WRAPPED:  # those already loaded by the CLI's own imports
    if module_name in sys.modules:
        for wrapped_name, attribute, phase in WRAPPED:
            if wrapped_name == module_name:
                _wrap_in(sys.modules[module_name], attribute, phase)
sys.meta_path.insert(0, _WrapOnImport())

_run = subprocess.run


def _timed_run(*args: Any, **kwargs: Any) -> Any:
    global _in_run
    start = time.perf_counter()
    _in_run = True  # counted here, not again by the Popen it makes
    try:
        return _run(*args, **kwargs)
    finally:
        _in_run = False
        argv = args[0] if args else kwargs.get("args")
        text = " ".join(map(str, argv)) if isinstance(argv, (list, tuple)) else str(argv)
        kind = (
            "git"
            if text.startswith("git")
            else "bytecode compiler"
            if "_compile_driver" in text
            else "PEP 517 hook"
            if "_in_process" in text or "_hook_driver" in text
            else "other"
        )
        totals[f"  subprocess: {kind}"] += time.perf_counter() - start
        calls[f"  subprocess: {kind}"] += 1


subprocess.run = _timed_run
_in_run = False

# PEP 517 hooks and the bytecode compiler run through Popen, started before they are
# needed (the hook in the background on a rebuild, the compiler before the install) and
# joined later: from the start to the join, beside the phases (they overlap them).
_popen_init = subprocess.Popen.__init__
_popen_wait = subprocess.Popen.wait


def _popen_started(self: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
    text = " ".join(map(str, args)) if isinstance(args, (list, tuple)) else str(args)
    kind = "PEP 517 hook" if "_hook_driver" in text else "bytecode compiler" if "_compile_driver" in text else None
    self._phases_kind = f"  subprocess: {kind} (start to join)" if kind and not _in_run else None
    self._phases_started = time.perf_counter()
    _popen_init(self, args, *rest, **kwargs)


def _popen_waited(self: Any, *args: Any, **kwargs: Any) -> Any:
    code = _popen_wait(self, *args, **kwargs)
    kind = getattr(self, "_phases_kind", None)
    if kind is not None:
        self._phases_kind = None
        totals[kind] += time.perf_counter() - self._phases_started
        calls[kind] += 1
    return code


subprocess.Popen.__init__ = _popen_started  # type: ignore[method-assign]
subprocess.Popen.wait = _popen_waited  # type: ignore[method-assign]


def main() -> int:
    sys.argv = ["layerplan", *sys.argv[1:]]
    code = 0
    try:
        cli_main.main()
    except SystemExit as exit_:
        code = int(exit_.code or 0) if not isinstance(exit_.code, str) else 1
    end = time.perf_counter()
    top = {k: v for k, v in totals.items() if not k.startswith(" ")}
    result = {
        "import": _imported - _start,
        **top,
        "other": (end - _imported) - sum(top.values()),
        "total": end - _start,
        "subprocesses": {k.strip(): v for k, v in totals.items() if k.startswith(" ")},
        "calls": dict(calls),
    }
    print("LAYERPLAN-PHASES " + json.dumps(result), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
