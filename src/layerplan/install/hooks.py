"""A project's ``[build-system]`` and one call of its backend's PEP 517 hooks in a kept build
environment, through ``_hook_driver.py``: what ``build.ProjectBuilder`` and ``pyproject_hooks``
do for a wheel, without importing them (about 0.03-0.09 s in this process, on the path of
every code-change rebuild).

The hook runs in a subprocess of the environment's interpreter, in the project's directory,
with the environment given: never in this process, whose ``packaging``, ``pluggy`` and
installed plugins are not the build environment's (PEP 517's isolation), whose working
directory is shared by every thread, and where setuptools would patch ``distutils`` for good.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from layerplan import _toml
from layerplan.cache.scratch import ScratchDirectory
from layerplan.install import warm_backend
from layerplan.install.errors import BuildError
from layerplan.install.pending import Pending
from layerplan.project.model import PEP517_FALLBACK_BACKEND, PEP517_FALLBACK_REQUIRES
from layerplan.warm.process import WarmProcess

__all__ = ["BuildSystem", "HookError", "call_hook", "call_hook_then", "project_label", "read_build_system", "start_hook"]

_DRIVER = Path(__file__).with_name("_hook_driver.py")


class HookError(Exception):
    """The backend (or the hook) cannot be imported, or the backend gave no answer (it ended
    the process itself); ``str()`` says why."""


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildSystem:
    """What ``[build-system]`` of a project says, with PEP 517's defaults filled in."""

    requires: tuple[str, ...]
    """Sorted (the key of the kept environment does not depend on their order)."""
    backend: str
    """``module:object``."""
    backend_path: tuple[str, ...]
    """The in-tree backend's directories, absolute, each inside the project."""


def _pyproject(source: Path) -> dict[str, object]:
    try:
        data, _ = _toml.load_toml(source / "pyproject.toml", BuildError)
    except BuildError:
        return {}
    return data


def project_label(source: Path) -> str:
    """The project's name for messages: ``[project].name``, poetry's, else the folder's."""
    data = _pyproject(source)
    project = data.get("project")
    if isinstance(project, dict) and isinstance(project.get("name"), str):
        return str(project["name"])
    tool = data.get("tool")
    poetry = tool.get("poetry", {}) if isinstance(tool, dict) else {}
    if isinstance(poetry, dict) and isinstance(poetry.get("name"), str):
        return str(poetry["name"])
    return source.name


def read_build_system(source: Path) -> BuildSystem:
    """``[build-system]`` of the project in ``source``; without one, PEP 517's fallback
    (setuptools, legacy backend). Raise ``BuildError`` for a ``backend-path`` outside the
    project or a table of the wrong types."""
    table = _pyproject(source).get("build-system")
    table = table if isinstance(table, dict) else {}
    requires = table.get("requires")
    backend = table.get("build-backend", PEP517_FALLBACK_BACKEND)
    paths = table.get("backend-path", [])
    if not isinstance(backend, str) or not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise BuildError(
            f"{project_label(source)}: [build-system] build-backend must be a string and backend-path a list of strings",
            path=source / "pyproject.toml",
        )
    absolute = []
    for entry in paths:
        path = (source / entry).resolve()
        if path != source and source not in path.parents:
            raise BuildError(
                f"{project_label(source)}: [build-system] backend-path {entry!r} is outside the project",
                path=source / "pyproject.toml",
            )
        absolute.append(str(path))
    return BuildSystem(
        requires=tuple(sorted(str(r) for r in requires)) if isinstance(requires, list) else PEP517_FALLBACK_REQUIRES,
        backend=backend,
        backend_path=tuple(absolute),
    )


def call_hook(
    python: Path, source: Path, system: BuildSystem, hook: str, args: Sequence[object], environ: Mapping[str, str]
) -> object:
    """Call ``hook(*args)`` of the backend in the environment of ``python``, in ``source``
    with ``environ``, and return what it returned (JSON). Raise ``HookError``, and
    ``subprocess.CalledProcessError`` (output captured: its last line says why) when the
    backend fails."""
    return _run(python, source, system, {"hook": hook, "args": list(args)}, environ)["value"]


def call_hook_then(
    python: Path,
    source: Path,
    system: BuildSystem,
    first: tuple[str, Sequence[object]],
    then: tuple[str, Sequence[object]],
    environ: Mapping[str, str],
) -> tuple[object, object | None]:
    """:func:`call_hook` of ``first``, then of ``then`` in the same process when ``first``
    returned an empty list: (what ``first`` returned, what ``then`` returned or ``None``).
    A first build asks ``get_requires_for_build_wheel`` and, when it wants nothing more (the
    usual answer), builds the wheel without a second process and a second backend import."""
    answer = _run(python, source, system, {
        "hook": first[0], "args": list(first[1]), "then": {"hook": then[0], "args": list(then[1])},
    }, environ)  # fmt: skip
    return answer["value"], answer.get("then")


def start_hook(
    python: Path, source: Path, system: BuildSystem, hook: str, args: Sequence[object], environ: Mapping[str, str],
    *, warm: bool = False,
) -> Pending[object]:  # fmt: skip
    """:func:`call_hook` started in the background: the backend's process runs while the
    caller goes on; ``result()`` waits for it and returns what the hook returned, or raises
    as ``call_hook`` does; ``stop()`` kills it. ``warm``: a call repeated build after build
    (the app's wheel in its kept environment), worth a warm backend (``warm_backend``)."""
    running = _start(python, source, system, {"hook": hook, "args": list(args)}, environ, warm=warm)
    return Pending(lambda: running.answer()["value"], running.stop)


def _run(
    python: Path, source: Path, system: BuildSystem, call: Mapping[str, object], environ: Mapping[str, str]
) -> dict[str, object]:
    return _start(python, source, system, call, environ).answer()


def _start(
    python: Path, source: Path, system: BuildSystem, call: Mapping[str, object], environ: Mapping[str, str],
    *, warm: bool = False,
) -> _Running:  # fmt: skip
    control = ScratchDirectory("hook")  # locked: another build's sweep leaves it alone
    try:
        return _Running(python, source, system, call, environ, control, warm_call=warm)
    except BaseException:
        control.cleanup()
        raise


class _Running:
    """The driver's process, its output in files beside its answer (no pipe to drain:
    nothing need read while it runs)."""

    def __init__(
        self, python: Path, source: Path, system: BuildSystem, call: Mapping[str, object], environ: Mapping[str, str],
        control: ScratchDirectory, *, warm_call: bool = False,
    ) -> None:  # fmt: skip
        self._control = control
        self._hook = str(call["hook"])
        self._backend = system.backend
        self._result = control.path / "result.json"
        request = {"backend": system.backend, "backend_path": list(system.backend_path), "result": str(self._result), **call}
        self._command = [str(python), str(_DRIVER), json.dumps(request)]
        # Kept warm (with the build daemon): served by a fork of a process that imported the
        # backend already, else run as always and such a process started for the next call.
        self._spawn: Callable[[], None] | None = None
        warm = warm_backend.server_for(python, source, system.backend, system.backend_path, environ) if warm_call else None
        with (control.path / "stdout").open("wb") as out, (control.path / "stderr").open("wb") as err:
            served = warm_backend.start(warm, self._command[2], source=source, environ=environ, out=out, err=err) if warm else None
            if served is not None:
                self._process: subprocess.Popen[bytes] | WarmProcess = served
            else:
                self._process = subprocess.Popen(self._command, cwd=source, env=dict(environ), stdout=out, stderr=err)
                if warm is not None:
                    self._spawn = lambda: warm_backend.spawn(warm, python, source, system.backend, system.backend_path, environ)

    def stop(self) -> None:
        """Kill the process if it still runs, wait for it, remove its files."""
        try:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
        finally:
            self._control.cleanup()

    def answer(self) -> dict[str, object]:
        """Wait for the hook's answer. Raise ``CalledProcessError`` (with the output) when the
        backend failed, ``HookError`` when it gave no answer or cannot be imported."""
        try:
            returncode = self._process.wait()
            stdout, stderr = (self._control.path / "stdout").read_bytes(), (self._control.path / "stderr").read_bytes()
            if returncode != 0:
                raise subprocess.CalledProcessError(returncode, self._command, stdout, stderr)
            if self._spawn is not None:
                self._spawn()  # after the call, so its import does not slow this one
            try:
                answer = json.loads(self._result.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                # The process ended with status 0 before the driver wrote: the backend exited itself
                said = (stderr or stdout).decode("utf-8", "replace").strip().splitlines()
                raise HookError(
                    f"backend {self._backend!r} exited during {self._hook} without an answer"
                    + (f": {said[-1]}" if said else "")
                ) from None
        finally:
            self.stop()  # a wait interrupted (Ctrl-C) kills the process, as subprocess.run does
        if not isinstance(answer, dict) or "unavailable" in answer:
            reason = answer.get("unavailable") if isinstance(answer, dict) else "no answer"
            raise HookError(f"backend {self._backend!r} is not available: {reason}")
        return answer
