"""The app backend kept warm (install/warm_backend.py, with the build daemon): a hook call
served by a fork of a process that imported the backend builds the bytes a fresh hook
process builds, for every backend; an edited in-tree backend is never served by the old
code; a project's own build script is read afresh on every call.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from daemons import ask, servers_in, stop_servers, wait_for

from layerplan.install.errors import BuildError
from layerplan.install import build_wheel, warm_backend
from layerplan.install.kept_env import start_build_in_kept_env
from tests.install.test_install_pep517 import BACKENDS, _project

EPOCH = 1_700_000_000


@pytest.fixture
def runtime() -> Iterator[Path]:
    """Backends kept warm, their sockets in a directory of the test's own (short: a socket's
    path is at most 107 bytes); every server stopped after the test."""
    directory = Path(tempfile.mkdtemp(prefix="lpw-"))
    directory.chmod(0o700)
    warm_backend.keep_warm(str(directory))
    try:
        yield directory
    finally:
        warm_backend.keep_warm(None)
        stop_servers(directory)
        import shutil

        shutil.rmtree(directory, ignore_errors=True)


def _built(project: Path, out: Path, envs: Path) -> Path:
    started = start_build_in_kept_env(project, out, env_cache=envs, source_date_epoch=EPOCH)
    assert started is not None, "the kept environment is ready"
    return started.result()


def _server_state(runtime: Path) -> dict[str, Any]:
    """The state of the one warm backend serving from ``runtime``, once it is up."""

    def state() -> dict[str, Any] | None:
        sockets = list(runtime.glob("*.sock"))
        answer = ask(sockets[0], {"status": {}}) if len(sockets) == 1 else None
        return answer["status"] if answer else None

    found: dict[str, Any] = wait_for(state, "the warm backend to listen")
    return found


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_a_warm_backend_builds_the_bytes_a_fresh_process_builds(tmp_path: Path, runtime: Path, backend: str) -> None:
    project = _project(tmp_path, backend)
    (project / "README.md").write_text("# tiny\n")
    envs = tmp_path / "envs"
    reference = build_wheel(project, tmp_path / "reference", env_cache=envs, source_date_epoch=EPOCH)  # makes the environment

    first = _built(project, tmp_path / "first", envs)  # a fresh process, which starts the warm one
    started = _server_state(runtime)
    assert started["served"] == 0
    second = _built(project, tmp_path / "second", envs)  # served: the backend imported, nothing else
    if backend == "hatchling":  # it imports its builders and plugins in the call: learned after it
        wait_for(lambda: _server_state(runtime)["modules"] > started["modules"] + 50, "the server to learn the call's imports")
    third = _built(project, tmp_path / "third", envs)  # served again, with what the second imported
    assert _server_state(runtime)["served"] == 2
    wait_for(lambda: _server_state(runtime)["running"] == 0, "the served calls' processes to end")
    for wheel in (first, second, third):
        assert wheel.name == reference.name
        assert wheel.read_bytes() == reference.read_bytes(), wheel


def test_an_edited_in_tree_backend_is_not_served_by_its_old_code(tmp_path: Path, runtime: Path) -> None:
    project = _project(tmp_path, "flit")
    pyproject = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        pyproject.replace('build-backend = "flit_core.buildapi"', 'build-backend = "intree"\nbackend-path = ["_custom"]')
    )
    (project / "_custom").mkdir()
    backend = project / "_custom" / "intree.py"

    def write_backend(mark: str) -> None:
        backend.write_text(
            "import os\nfrom flit_core.buildapi import *  # noqa: F403\nfrom flit_core import buildapi\n\n"
            f"MARK = {mark!r}\n\n"
            "def build_wheel(directory, config_settings=None, metadata_directory=None):\n"
            "    name = buildapi.build_wheel(directory, config_settings, metadata_directory)\n"
            "    with open(os.path.join(directory, 'mark.txt'), 'w') as stream:\n"
            "        stream.write(MARK)\n"
            "    return name\n"
        )

    write_backend("v1")
    envs = tmp_path / "envs"
    build_wheel(project, tmp_path / "reference", env_cache=envs, source_date_epoch=EPOCH)
    _built(project, tmp_path / "first", envs)
    pid = _server_state(runtime)["pid"]
    assert (_built(project, tmp_path / "second", envs).parent / "mark.txt").read_text() == "v1"
    assert _server_state(runtime)["served"] == 1

    write_backend("v2.0")  # another size: an edit a stale server would miss otherwise too
    assert (_built(project, tmp_path / "third", envs).parent / "mark.txt").read_text() == "v2.0"
    wait_for(lambda: pid not in servers_in(runtime), "the stale server to exit")
    (log,) = runtime.glob("*.log")
    assert f"exiting, its code changed: {backend} changed" in log.read_text()


def _with_build_script(tmp_path: Path) -> tuple[Path, Callable[[str], None]]:
    """A hatchling project with a custom build hook (``hatch_build.py``), and a function that
    writes the hook's ``initialize`` body (indented lines, after the imports os and signal)."""
    project = _project(tmp_path, "hatchling")
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text() + "\n[tool.hatch.build.targets.wheel.hooks.custom]\n"
    )

    def write_body(body: str) -> None:
        (project / "hatch_build.py").write_text(
            "import os, signal\nfrom hatchling.builders.hooks.plugin.interface import BuildHookInterface\n\n"
            "class CustomBuildHook(BuildHookInterface):\n"
            "    def initialize(self, version, build_data):\n" + body
        )

    return project, write_body


def test_a_project_build_script_is_read_afresh_by_every_served_call(tmp_path: Path, runtime: Path) -> None:
    project, write_body = _with_build_script(tmp_path)

    def write_script(mark: str) -> None:
        write_body(
            "        path = os.path.join(self.directory, 'mark.txt')\n"
            "        os.makedirs(self.directory, exist_ok=True)\n"
            "        with open(path, 'w') as stream:\n"
            f"            stream.write({mark!r})\n"
            "        build_data['force_include'][path] = 'tiny_hatchling/mark.txt'\n"
        )

    def mark(wheel: Path) -> str:
        with zipfile.ZipFile(wheel) as archive:
            return archive.read("tiny_hatchling/mark.txt").decode()

    write_script("v1")
    envs = tmp_path / "envs"
    build_wheel(project, tmp_path / "reference", env_cache=envs, source_date_epoch=EPOCH)
    _built(project, tmp_path / "first", envs)
    pid = _server_state(runtime)["pid"]
    assert mark(_built(project, tmp_path / "second", envs)) == "v1"
    write_script("v2")  # the same size: only a fresh read of the script sees it
    assert mark(_built(project, tmp_path / "third", envs)) == "v2"
    state = _server_state(runtime)
    assert state["pid"] == pid and state["served"] == 2, "the script is the project's, not the server's code"


@pytest.mark.parametrize("ending", ["os._exit(0)", "os.kill(os.getpid(), signal.SIGKILL)"])
def test_a_served_call_that_ends_its_process_itself_fails_as_a_fresh_process_does(tmp_path: Path, runtime: Path, ending: str) -> None:
    # The served call's process ends without saying so (a setup.py that exits, the OOM
    # killer): its server says how it ended, so the error is the one a fresh process gives.
    project, write_body = _with_build_script(tmp_path)

    def write_script(end: str) -> None:
        write_body(f"        print('leaving early', flush=True)\n        {end}\n")

    write_script("pass")
    envs = tmp_path / "envs"
    build_wheel(project, tmp_path / "reference", env_cache=envs, source_date_epoch=EPOCH)
    _built(project, tmp_path / "first", envs)
    _server_state(runtime)
    write_script(ending)
    with pytest.raises(BuildError) as caught:
        _built(project, tmp_path / "served", envs)
    assert _server_state(runtime)["served"] == 1
    warm_backend.keep_warm(None)
    with pytest.raises(BuildError) as fresh:
        _built(project, tmp_path / "fresh", envs)
    assert _without_scratch(str(caught.value)) == _without_scratch(str(fresh.value))
    if ending == "os._exit(0)":
        assert "exited during build_wheel without an answer: leaving early" in str(caught.value)


def _without_scratch(message: str) -> str:
    """``message`` without its scratch directories' random names."""
    return re.sub(r"/layerplan-[a-z-]+?-[a-z0-9_]{8}", "/SCRATCH", message)
