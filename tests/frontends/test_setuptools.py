"""The setuptools front end: ``build_image`` (a ``distutils.commands`` entry point) and
``layerplan build``/``plan`` on a setuptools project (tests/fixtures/setuptools-app)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.frontends.frontend_tools import (
    SETUP_PY,
    SETUPTOOLS_APP,
    SETUPTOOLS_LINE,
    archive_digest,
    copy_project,
    must,
    run,
    run_archive,
)

pytestmark = pytest.mark.tools

ARCHIVE = "dist/setuptools_app-0.1.0-image.tar"


def _layerplan(*args: str | Path, env: dict) -> list[str | Path]:
    return [sys.executable, "-m", "layerplan", *args]


def _with_checkout(env: dict) -> dict:
    """``env`` for running this checkout's ``python -m layerplan``."""
    return {**env, "PYTHONPATH": os.pathsep.join(sys.path)}


@pytest.fixture(scope="module")
def command_built(tmp_path_factory: pytest.TempPathFactory, setuptools_python: Path, front_env: dict, base_image: str):
    """The fixture project built once by `setup.py build_image` (the default archive)."""
    project = copy_project(SETUPTOOLS_APP, tmp_path_factory.mktemp("setuptools") / "app")
    result = must(run([setuptools_python, "-c", SETUP_PY, "build_image", "--base", base_image], env=front_env, cwd=project))
    return project, result


@pytest.mark.engine
def test_build_image_writes_the_default_archive_that_runs(command_built, docker_client, front_env: dict) -> None:
    project, result = command_built
    assert "running build_image" in result.stdout + result.stderr
    assert f"oci-archive:{project / ARCHIVE}: written" in result.stdout
    output = run_archive(project / ARCHIVE, "layerplan-frontends/setuptools-app:1", docker_client, front_env)
    assert output.strip() == SETUPTOOLS_LINE


@pytest.mark.engine
def test_layerplan_build_makes_the_same_image(command_built, front_env: dict, base_image: str, tmp_path: Path, docker_client) -> None:
    project, _ = command_built
    archive = tmp_path / "cli.tar"
    result = must(
        run(
            _layerplan("build", project, "--base", base_image, "--output", f"oci-archive:{archive}", "--json", env=front_env),
            env=_with_checkout(front_env),
        )
    )
    digest = json.loads(result.stdout)["digest"]
    assert digest == archive_digest(project / ARCHIVE)
    assert run_archive(archive, "layerplan-frontends/setuptools-cli:1", docker_client, front_env).strip() == SETUPTOOLS_LINE


@pytest.mark.engine
def test_setup_py_with_comma_separated_outputs_tag_and_setup_cfg(
    tmp_path: Path, setuptools_python: Path, front_env: dict, base_image: str, docker_client
) -> None:
    project = copy_project(SETUPTOOLS_APP, tmp_path / "app")
    # the classic spelling, with a setup.py shim; options may come from setup.cfg too,
    # like any distutils command's
    (project / "setup.py").write_text(SETUP_PY + "\n", encoding="utf-8")
    (project / "setup.cfg").write_text(f"[build_image]\nbase = {base_image}\n", encoding="utf-8")
    result = must(
        run(
            [setuptools_python, "setup.py", "-q", "build_image", "--output", "docker-archive:out/d.tar, oci:out/layout",
             "--tag", "layerplan-frontends/setuptools-tagged:2"],
            env=front_env,
            cwd=project,
        )
    )
    assert result.stdout.strip().startswith("sha256:")  # -q: just the digest
    assert (project / "out" / "layout" / "index.json").is_file()
    assert not (project / ARCHIVE).exists()
    loaded = docker_client.images.load((project / "out" / "d.tar").read_bytes())
    assert "layerplan-frontends/setuptools-tagged:2" in loaded[0].tags
    output = docker_client.containers.run("layerplan-frontends/setuptools-tagged:2", network_mode="none", remove=True)
    docker_client.images.remove("layerplan-frontends/setuptools-tagged:2", force=True)
    assert output.decode().strip() == SETUPTOOLS_LINE


def test_command_is_registered(setuptools_python: Path, front_env: dict, tmp_path: Path) -> None:
    project = copy_project(SETUPTOOLS_APP, tmp_path / "app")
    result = must(run([setuptools_python, "-c", SETUP_PY, "build_image", "--help"], env=front_env, cwd=project))
    for option in ("--base", "--output", "--platform", "--tag", "--lock"):
        assert option in result.stdout


def test_layerplan_plan_reads_the_setuptools_project(front_env: dict) -> None:
    result = must(run(_layerplan("plan", SETUPTOOLS_APP, "--json", env=front_env), env=_with_checkout(front_env)))
    plan = json.loads(result.stdout)
    packages = {p["name"] for layer in plan["layers"] for p in layer.get("packages", [])}
    assert {"idna", "six"} <= packages
    assert [layer["kind"] for layer in plan["layers"]][-2:] == ["app", "config"]


@pytest.mark.parametrize(
    ("setting", "args", "message"),
    [
        ("bogus = 1", (), "pyproject.toml:28 `tool.layerplan.bogus`: unknown option"),
        ('max-layers = "x"', (), "pyproject.toml:28 `tool.layerplan.max-layers`: must be an integer from 3 to 100"),
        ("", ("--output", "oci:a,ftp:b"), "error: `--output`: invalid output 'ftp:b'"),
        ("", ("--tag", "Not A Tag"), "error: `--tag`: must be a list of image names"),
        ("", ("--platform", "amd64"), "error: `--platform`: must be a platform such as \"linux/amd64\""),
        ("", ("--bogus", "1"), "option --bogus not recognized"),
    ],
)
def test_bad_input_is_one_error_line(
    tmp_path: Path, setuptools_python: Path, front_env: dict, setting: str, args: tuple[str, ...], message: str
) -> None:
    project = copy_project(SETUPTOOLS_APP, tmp_path / "app")
    if setting:
        pyproject = project / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace("[tool.layerplan]\n", f"[tool.layerplan]\n{setting}\n"), encoding="utf-8")
    result = run([setuptools_python, "-c", SETUP_PY, "build_image", "--base", "127.0.0.1:9/unused", *args], env=front_env, cwd=project)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert message in output, output
    assert "Traceback" not in output, output


def test_no_lock_says_how_to_make_one(tmp_path: Path, setuptools_python: Path, front_env: dict) -> None:
    project = copy_project(SETUPTOOLS_APP, tmp_path / "app")
    (project / "uv.lock").unlink()
    result = run([setuptools_python, "-c", SETUP_PY, "build_image", "--base", "127.0.0.1:9/unused"], env=front_env, cwd=project)
    assert result.returncode != 0
    assert "no lockfile found" in result.stderr and "uv lock" in result.stderr, result.stderr
