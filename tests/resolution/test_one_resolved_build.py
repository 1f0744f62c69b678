"""Regressions of facts that were decided twice (issue "One resolved build"), each through
the real CLI as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import base_image  # noqa: F401 - the fixture

from tests.direct_build.helpers import not_progress

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-project"
BASIC = ROOT / "tests" / "fixtures" / "locks" / "basic"
WORKSPACE = ROOT / "tests" / "fixtures" / "locks" / "uv-reader" / "workspace"
PRIVATE_INDEX = "https://pkgs.example/simple"


def layerplan(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "layerplan", *map(str, args)],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, cwd=cwd, check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    said = not_progress(result.stderr)  # a build says what it did before it failed
    assert said.count("\n") == 1 and said.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return said


@pytest.mark.engine
@pytest.mark.parametrize(
    ("option", "says"),
    [
        (("--platform", "linux/arm64"), "--platform asks for linux/arm64, but base image {base} is linux/amd64"),
        (("--libc", "musl-1.2"), "--libc asks for musl-1.2, but base image {base} has glibc-2.36"),
    ],
    ids=["arm64-on-amd64", "musl-on-glibc"],
)
@pytest.mark.parametrize("command", ["build", "plan", "dockerfile"])
def test_a_target_the_base_cannot_run_is_exit_2_with_one_line(
    tmp_path: Path, base_image: str, command: str, option: tuple[str, str], says: str  # noqa: F811
) -> None:
    """Before: `build --platform linux/arm64` on an amd64-only base exited 0 with aarch64 numpy."""
    output = {"build": ["--output", f"oci:{tmp_path / 'image'}"], "dockerfile": ["-o", str(tmp_path / "ctx")], "plan": []}
    result = layerplan(command, EXAMPLE, "--base", base_image, *option, *output[command], "--cache-dir", tmp_path / "cache")
    assert says.format(base=base_image) in one_error_line(result)
    assert not (tmp_path / "image").exists() and not (tmp_path / "ctx").exists()


def test_the_lock_index_reaches_every_requirements_file(tmp_path: Path) -> None:
    """Before: a requirements.txt with --index-url gave files without it: pip fell back to PyPI."""
    project = tmp_path / "basic"
    shutil.copytree(BASIC, project)
    lock = project / "requirements.txt"
    lock.write_text(f"--index-url {PRIVATE_INDEX}\n" + lock.read_text())
    out = tmp_path / "ctx"
    # --no-index: the sizes lookup would ask the (unreachable) private index
    result = layerplan("dockerfile", project, "--lock", lock, "--python", "3.11", "--no-index", "-o", out)
    assert result.returncode == 0, result.stderr
    files = sorted((out / "requirements").glob("*.txt"))
    assert len(files) == 4  # no sizes without the index: numpy shares a group
    for file in files:
        lines = file.read_text().splitlines()
        assert f"--index-url {PRIVATE_INDEX}" in lines, file.name
        assert not any("pypi.org" in line for line in lines), file.name


def test_dockerfile_package_builds_the_member(tmp_path: Path) -> None:
    """Before: `dockerfile --package M` built the workspace root instead of M."""
    out = tmp_path / "ctx"
    result = layerplan("dockerfile", WORKSPACE, "--package", "lib-a", "--python", "3.11", "-o", out)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (out / "dist").iterdir()) == ["lib_a-0.1.0-py3-none-any.whl"]
    pinned = " ".join(p.read_text() for p in (out / "requirements").glob("*.txt"))
    assert "attrs==" in pinned and "numpy" not in pinned and "click" not in pinned
    plan = json.loads(layerplan("plan", WORKSPACE, "--package", "lib-a", "--python", "3.11", "--json").stdout)
    assert plan["project"] == {"name": "lib-a", "version": "0.1.0"}


def test_plan_without_a_base_names_the_defaults(tmp_path: Path) -> None:
    """Before: `plan` said "on the base's Python 3.12" when no base was given."""
    project = tmp_path / "basic"
    shutil.copytree(BASIC, project)
    result = layerplan("plan", project, "--lock", project / "uv.lock")
    assert result.returncode == 0, result.stderr
    assert "the base's" not in result.stdout
    assert "Python 3.12 (default for requires-python >=3.10)" in result.stdout
    assert "no base image" in result.stdout


@pytest.mark.engine
def test_plan_reads_the_base_of_the_hatch_image_table(tmp_path: Path, base_image: str) -> None:  # noqa: F811
    """Before: `plan` ignored a base set in [tool.hatch.build.targets.image], so its keys
    differed from the build's."""
    project = tmp_path / "example"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".venv", "dist"))
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace('python = "3.11"\n', "")
    pyproject.write_text(text + f'\n[tool.hatch.build.targets.image]\nbase = "{base_image}"\n')
    plan = json.loads(layerplan("plan", project, "--json", "--cache-dir", tmp_path / "cache").stdout)
    assert plan["target"]["python_full_version"].startswith("3.11.")
    assert plan["target"]["from"]["python"] == f"base image {base_image}"
