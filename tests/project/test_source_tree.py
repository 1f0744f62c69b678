"""Nothing from outside the project goes into an image: a link that leads out of the
source tree, or a special file in it, is one line (never a hang or a traceback)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYMODULES = ROOT / "tests" / "fixtures" / "setuptools-pymodules"


def layerplan(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "layerplan", *map(str, args)],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=60, check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PYMODULES, tmp_path / "app", ignore=shutil.ignore_patterns("regenerate.sh")))


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: (p / "pymod_app" / "passwd").symlink_to("/etc/passwd"), "pymod_app/passwd leads out of the project (to /etc/passwd)"),
        (lambda p: (p / "pymod_app" / "keys").symlink_to(p.parent), "pymod_app/keys leads out of the project"),
        (lambda p: (p / "pymod_app" / "zero").symlink_to("/dev/zero"), "pymod_app/zero leads out of the project (to /dev/zero)"),
        (lambda p: os.mkfifo(p / "pymod_app" / "pipe"), "pymod_app/pipe is a FIFO, not a source file"),
    ],
    ids=["file-link", "directory-link", "device-link", "fifo"],
)
@pytest.mark.parametrize("command", ["plan", "dockerfile"])
def test_what_leaves_the_project_is_one_line(project: Path, tmp_path: Path, make, says: str, command: str) -> None:  # type: ignore[no-untyped-def]
    make(project)
    extra = ["-o", str(tmp_path / "ctx")] if command == "dockerfile" else []
    result = layerplan(command, project, "--python", "3.11", *extra)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    assert not (tmp_path / "ctx").exists()


def test_a_link_that_stays_inside_is_read_through(project: Path) -> None:
    (project / "pymod_app" / "data.txt").write_text("inside")
    (project / "pymod_app" / "alias.txt").symlink_to("data.txt")
    before = layerplan("plan", project, "--python", "3.11", "--json")
    assert before.returncode == 0, before.stderr
    (project / "pymod_app" / "data.txt").write_text("changed")
    after = layerplan("plan", project, "--python", "3.11", "--json")
    assert after.returncode == 0, after.stderr
    key = lambda out: next(l for l in __import__("json").loads(out)["layers"] if l["kind"] == "app")["key"]  # noqa: E731
    assert key(before.stdout) != key(after.stdout)
