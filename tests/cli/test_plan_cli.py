"""`layerplan plan` as a user runs it: output, JSON interface, diff, and clear errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from layerplan.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-project"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "layerplan", *args], capture_output=True, text=True, cwd=cwd,
        # a bare environment (no uv, no venv on PATH), but the same source tree as the test
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}},
    )


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    target = tmp_path / "example"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".venv", "__pycache__", "dist"))
    return target


def test_plan_table_shows_ordered_layers_with_reasons() -> None:
    result = run_cli("plan", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in ("environment", "dep-numpy", "local", "app", "config"):
        assert name in out
    assert out.index("environment") < out.index("dep-numpy") < out.index("greeting") < out.index("layerplan-example 0.1.0 from")
    assert "cpython3.11 linux/amd64 glibc-2.36" in out


def test_plan_json_is_the_documented_interface(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(EXAMPLE), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["target"] == {
        "python": "3.11", "python_full_version": None, "platform": "linux/amd64", "libc": "glibc-2.36", "implementation": "cpython",
        "from": {
            "python": "tool.layerplan.python (pyproject.toml:36)",
            "platform": "tool.layerplan.platform (pyproject.toml:37)",
            "libc": "default",
        },
    }
    kinds = [layer["kind"] for layer in plan["layers"]]
    assert kinds[0] == "environment" and kinds[-3:] == ["local", "app", "config"]
    for layer in plan["layers"]:
        assert {"name", "kind", "key", "reason", "packages"} <= layer.keys()
        assert len(layer["key"]) == 64
        for package in layer["packages"]:
            assert package["name"] and "version" in package
    names = {p["name"] for layer in plan["layers"] for p in layer["packages"]}
    assert {"numpy", "pydantic", "pydantic-core", "click", "greeting"} <= names
    assert "layerplan-example" not in names  # the app is its own layer, not a dependency
    numpy = next(p for layer in plan["layers"] for p in layer["packages"] if p["name"] == "numpy")
    assert "cp311" in numpy["file"] and "x86_64" in numpy["file"]
    assert plan["settings"]["entrypoint"] == ["/app/.venv/bin/layerplan-example"]


def test_target_options_change_the_wheels(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(EXAMPLE), "--json", "--platform", "linux/arm64", "--python", "3.12"]) == 0
    plan = json.loads(capsys.readouterr().out)
    numpy = next(p for layer in plan["layers"] for p in layer["packages"] if p["name"] == "numpy")
    assert "cp312" in numpy["file"] and "aarch64" in numpy["file"]


def test_diff_against_an_older_lock_names_the_changed_layer(example_copy: Path) -> None:
    lock = example_copy / "uv.lock"
    old = example_copy.parent / "old-uv.lock"
    shutil.copy(lock, old)
    # bump humanize in the current lock by editing its version and wheel hash
    text = lock.read_text()
    start = text.index('name = "humanize"')
    end = text.index("[[package]]", start)
    block = text[start:end]
    version = block.split('version = "', 1)[1].split('"', 1)[0]
    bumped = block.replace(f'version = "{version}"', 'version = "99.0.0"').replace("sha256:", "sha256:0", 1)
    lock.write_text(text[:start] + bumped + text[end:])
    result = run_cli("plan", str(example_copy), "--diff-against", str(old))
    assert result.returncode == 0, result.stderr
    changed = [line for line in result.stdout.splitlines() if "│ changed" in line]
    assert len(changed) == 1, result.stdout
    assert f"humanize {version} -> 99.0.0" in changed[0]
    assert "1 changed" in result.stdout


def test_diff_against_a_git_revision(example_copy: Path) -> None:
    git = ["git", "-C", str(example_copy)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], check=True)
    result = run_cli("plan", str(example_copy), "--diff-against", "HEAD")
    assert result.returncode == 0, result.stderr
    assert "HEAD:uv.lock (old)" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "9 reused"
    bad = run_cli("plan", str(example_copy), "--diff-against", "no-such-rev")
    assert bad.returncode == 2
    assert "git cannot show it" in bad.stderr


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["plan", "/nonexistent/project"], "project path does not exist"),
        ("empty", ["plan", "{dir}"], "no pyproject.toml here"),
        ("nolock", ["plan", "{dir}"], "no lockfile found"),
        ("badtoml", ["plan", "{dir}"], "invalid TOML"),
        ("example", ["plan", "{dir}", "--python", "3.9"], "the lock supports Python"),
        ("example", ["plan", "{dir}", "--platform", "windows/amd64"], "unsupported platform"),
        ("example", ["plan", "{dir}", "--lock", "{dir}/README.md"], "not a lockfile layerplan can read"),
        ("example", ["plan", "{dir}", "--group", "nope"], "dependency group 'nope'"),
        ("absglob", ["plan", "{dir}"], "pyproject.toml:5 `tool.uv.workspace.members`: holds '/srv/packages/*'"),
        ("emptyglob", ["plan", "{dir}"], "pyproject.toml:5 `tool.uv.workspace.members`: '' is not a workspace glob"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, setup: str | None, args: list[str], message: str) -> None:
    directory = tmp_path / "p"
    if setup == "empty":
        directory.mkdir()
    elif setup == "nolock":
        directory.mkdir()
        (directory / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    elif setup == "badtoml":
        directory.mkdir()
        (directory / "pyproject.toml").write_text('[project]\nname = "x\n')
    elif setup in ("absglob", "emptyglob"):
        directory.mkdir()
        pattern = "/srv/packages/*" if setup == "absglob" else ""
        (directory / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n[tool.uv.workspace]\nmembers = ["{pattern}"]\n')
    elif setup == "example":
        shutil.copytree(EXAMPLE, directory, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    result = run_cli(*[a.format(dir=directory) for a in args])
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_a_fifo_lock_is_an_error_not_a_hang(example_copy: Path) -> None:
    lock = example_copy / "uv.lock"
    lock.unlink()
    os.mkfifo(lock)  # no writer: reading it would block forever
    result = subprocess.run(
        [sys.executable, "-m", "layerplan", "plan", str(example_copy), "--lock", str(lock)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not a regular file" in result.stderr, result.stderr


def test_dependency_missing_from_the_lock_is_a_mismatch(example_copy: Path) -> None:
    pyproject = example_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"click>=8.1",', '"click>=8.1",\n  "rich>=13",'))
    result = run_cli("plan", str(example_copy))
    assert result.returncode == 2
    assert "'rich'" in result.stderr and "not in the lock" in result.stderr and "uv lock" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["plan", str(EXAMPLE), "--platform", ""],
        ["plan", str(EXAMPLE), "--diff-against", ""],
        ["build", str(EXAMPLE), "--base", "", "--output", "oci:/tmp/never"],
        ["plan", str(EXAMPLE), "--no-such-option"],
        ["no-such-command"],
    ],
)
def test_usage_errors_are_one_line_too(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("error: layerplan")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--help" in result.stderr
