"""The app's wheel is built in the background (containerize/app.py): on a rebuild its backend's
process starts before the lock and the base are read, on the main thread, and is joined
where the app layer needs the wheel. Its failure is still one line and exit 2; a failure
elsewhere, or Ctrl-C, while it runs kills it, and nothing it wrote is left behind.

The project's backend is in-tree (``backend-path``, ``requires = []``) and
does what files in the project tell it: ``FAIL`` raises, ``SLOW`` writes the backend's pid
to ``pid`` and sleeps a minute before it builds, then writes ``finished``. Engine-free:
the synthetic base, an OCI layout output. Which thread started each process is read with
an audit hook, from outside layerplan's own report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from synthbase import SyntheticBase

from tests.direct_build.helpers import not_progress

PYPROJECT = """\
[project]
name = "bgapp"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = []

[build-system]
requires = []  # an in-tree backend needs nothing installed
build-backend = "bgbackend"
backend-path = ["_backend"]
"""

LOCK = """\
version = 1
revision = 3
requires-python = ">=3.10"

[[package]]
name = "bgapp"
version = "0.1.0"
source = { editable = "." }
"""

BACKEND = '''\
"""A backend that builds a one-module wheel, and fails or dawdles when told to."""
import base64, hashlib, os, time, zipfile
from pathlib import Path

HERE = Path.cwd()  # hooks run in the project's directory


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if (HERE / "FAIL").exists():
        raise RuntimeError("the app does not build, on purpose")
    if (HERE / "SLOW").exists():
        (HERE / "pid.tmp").write_text(str(os.getpid()))
        os.replace(HERE / "pid.tmp", HERE / "pid")  # whole or absent: the test reads it once it exists
        time.sleep(60)
        (HERE / "finished").write_text("yes")
    files = {
        "bgapp/__init__.py": (HERE / "bgapp" / "__init__.py").read_bytes(),
        "bgapp-0.1.0.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: bgapp\\nVersion: 0.1.0\\n",
        "bgapp-0.1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: bgbackend\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = [f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}" for name, data in files.items()]
    files["bgapp-0.1.0.dist-info/RECORD"] = ("\\n".join([*record, "bgapp-0.1.0.dist-info/RECORD,,"]) + "\\n").encode()
    name = "bgapp-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, data in files.items():
            wheel.writestr(zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0)), data)
    return name
'''

AUDITED = """\
import os, runpy, sys, threading
log = os.environ["LAYERPLAN_TEST_POPEN_LOG"]
def hook(event, args):
    if event == "subprocess.Popen":
        with open(log, "a", encoding="utf-8") as out:
            out.write(repr([threading.current_thread().name, *(str(a) for a in args[1])]) + "\\n")
sys.addaudithook(hook)
sys.argv = ["layerplan", *sys.argv[1:]]
runpy.run_module("layerplan", run_name="__main__", alter_sys=True)
"""


def make_project(root: Path) -> Path:
    (root / "bgapp").mkdir(parents=True)
    (root / "bgapp" / "__init__.py").write_text('VALUE = "v1"\n')
    (root / "_backend").mkdir()
    (root / "_backend" / "bgbackend.py").write_text(BACKEND)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "uv.lock").write_text(LOCK)
    return root


class Builds:
    """``layerplan build`` of one project with one cache and one ``$TMPDIR``, audited."""

    def __init__(self, tmp_path: Path, base: str) -> None:
        self.project = make_project(tmp_path / "app")
        self.base = base
        self.cache = tmp_path / "cache"
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir()
        self.log = tmp_path / "popen.log"
        self.output = tmp_path / "out" / "image"

    def command(self, *, base: str | None = None) -> list[str]:
        return [
            sys.executable, "-c", AUDITED, "build", str(self.project), "--base", base or self.base,
            "--output", f"oci:{self.output}", "--cache-dir", str(self.cache), "--json",
        ]  # fmt: skip

    def env(self) -> dict[str, str]:
        return {**os.environ, "LAYERPLAN_TEST_POPEN_LOG": str(self.log), "TMPDIR": str(self.tmp)}

    def run(self, *, base: str | None = None) -> subprocess.CompletedProcess[str]:
        self.log.unlink(missing_ok=True)
        return subprocess.run(self.command(base=base), capture_output=True, text=True, env=self.env())

    def backend_starts(self) -> list[str]:
        """The thread that started each backend process."""
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [argv[0] for argv in map(eval, lines) if "_hook_driver" in " ".join(argv)]  # noqa: S307 - our own repr

    def stored_wheels(self) -> list[Path]:
        return sorted(self.cache.rglob("*.whl"))

    def leftovers(self) -> list[str]:
        return sorted(path.name for path in self.tmp.iterdir())


@pytest.fixture
def builds(tmp_path: Path, synthetic_base: SyntheticBase) -> Builds:
    made = Builds(tmp_path, synthetic_base.specs["oci"])
    first = made.run()  # makes the kept build environment: a later build is one hook call
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["app_wheel"]["status"] == "built"
    return made


def assert_one_line(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = not_progress(done.stderr).strip().splitlines()
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_a_rebuild_starts_the_backend_on_the_main_thread_and_builds_the_same_image(builds: Builds) -> None:
    first = json.loads(builds.run().stdout)
    assert builds.backend_starts() == ["MainThread"], "started early, not from a thread that waits for the plan"
    module = builds.project / "bgapp" / "__init__.py"
    module.write_text('VALUE = "v2"\n')
    changed = builds.run()
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["digest"] != first["digest"]
    module.write_text('VALUE = "v1"\n')
    again = json.loads(builds.run().stdout)
    assert again["digest"] == first["digest"] and again["app_wheel"]["status"] == "built"
    assert builds.leftovers() == []


def test_a_backend_failing_in_the_background_is_one_line_and_exit_2(builds: Builds) -> None:
    (builds.project / "FAIL").write_text("")
    done = builds.run()
    assert_one_line(done, "bgapp: building the wheel failed", "the app does not build, on purpose")
    assert builds.backend_starts() == ["MainThread"]
    assert builds.leftovers() == []


def _assert_stopped(builds: Builds) -> None:
    """The backend was killed, not waited for, and left nothing behind."""
    assert not (builds.project / "finished").exists(), "the backend ran to its end: waited for, not stopped"
    pid = builds.project / "pid"
    if pid.exists():  # it got as far as saying who it is
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid.read_text()), 0)
    assert builds.leftovers() == []


def test_an_error_elsewhere_kills_the_backend_running_in_the_background(builds: Builds, tmp_path: Path) -> None:
    (builds.project / "SLOW").write_text("")
    stored = builds.stored_wheels()
    done = builds.run(base=f"oci:{tmp_path / 'no-such-base'}")
    assert_one_line(done, "no-such-base")
    assert builds.backend_starts() == ["MainThread"], "the backend was started before the base was read"
    _assert_stopped(builds)
    assert builds.stored_wheels() == stored


@pytest.mark.parametrize(
    ("how", "code", "said"),
    [("sigint", 130, "interrupted"), ("sigint-to-group", 130, "interrupted"), ("sigterm", 143, "terminated")],
)
def test_a_signal_kills_the_backend_running_in_the_background(builds: Builds, how: str, code: int, said: str) -> None:
    """SIGINT to layerplan alone, or to its whole process group as a terminal's Ctrl-C
    sends it (the backend gets one too): ``interrupted``, exit 130; SIGTERM (``docker
    stop``, a cancelled CI job, ``timeout``): ``terminated``, exit 143. Nothing left."""
    (builds.project / "SLOW").write_text("")
    builds.log.unlink(missing_ok=True)
    stored = builds.stored_wheels()
    process = subprocess.Popen(
        builds.command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=builds.env(), start_new_session=True
    )
    try:
        while not (builds.project / "pid").exists() and process.poll() is None:
            time.sleep(0.05)
        if how == "sigint-to-group":
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr and not_progress(stderr).strip().splitlines()[-1] == said
    _assert_stopped(builds)
    assert builds.stored_wheels() == stored
