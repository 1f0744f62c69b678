"""``hatch build -t image`` refuses bad input with one message naming the key, no traceback.

Most cases run ``python -m hatchling build -t image`` (what hatch runs in its build
environment) on a copy of the example project; a few go through ``hatch`` itself. None
reaches a registry: the checks come before any build work.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.frontends.frontend_tools import (
    EXAMPLE,
    SETUPTOOLS_APP,
    append_table,
    copy_project,
    run,
    set_build_requires,
)

pytestmark = pytest.mark.tools

TARGET = "tool.hatch.build.targets.image"


def _project(tmp_path: Path, table: str) -> Path:
    project = copy_project(EXAMPLE, tmp_path / "example")
    append_table(project, table)
    return project


def _fails(result, *expected: str) -> str:  # type: ignore[no-untyped-def]
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for text in expected:
        assert text in output, output
    assert "Traceback" not in output, output
    return output


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('mode = "docker"', f"Field `{TARGET}.mode` must be one of: image, dockerfile"),
        ("bogus = 1", f"Unknown field `{TARGET}.bogus`"),
        ('max-layers = "many"', f"Field `{TARGET}.max-layers` must be an integer from 3 to 100"),
        ('archive = "yes"', f"Field `{TARGET}.archive` must be a boolean"),
        ('tag = "Not A Name"', f"Field `{TARGET}.tag` has an invalid image name"),
        ("tag = 3", f"Field `{TARGET}.tag` must be an image name"),
        ('outputs = ["ftp:x"]', f"Output #1 of field `{TARGET}.outputs`: invalid output 'ftp:x'"),
        ('outputs = "oci:x"', f"Field `{TARGET}.outputs` must be a list of output specs"),
        ('user = "root"', f"Field `{TARGET}.user` must be a numeric"),
        ('large-wheel-size = "huge"', f"Field `{TARGET}.large-wheel-size` must be a size"),
        ('flavour = "fancy"', f"Field `{TARGET}.flavour` must be one of: portable, buildkit"),
        ("layer-groups = { ml = 3 }", f"Field `{TARGET}.layer-groups` must be a table of layer name"),
    ],
)
def test_bad_target_option_names_the_key(tmp_path: Path, hatchling_python: Path, front_env: dict, setting: str, message: str) -> None:
    project = _project(tmp_path, f"[{TARGET}]\nbase = \"127.0.0.1:9/unused\"\n{setting}\n")
    _fails(run([hatchling_python, "-m", "hatchling", "build", "-t", "image"], env=front_env, cwd=project), message)


def test_hatchling_generic_target_keys_are_left_to_hatchling(tmp_path: Path, hatchling_python: Path, front_env: dict) -> None:
    # Stopped by a bad mode: the generic keys before it passed the unknown-key check.
    project = _project(
        tmp_path,
        f"[{TARGET}]\ndependencies = []\nrequire-runtime-dependencies = false\nversions = [\"standard\"]\n"
        'exclude = ["*.md"]\nreproducible = true\nmode = "nope"\n',
    )
    output = _fails(run([hatchling_python, "-m", "hatchling", "build", "-t", "image"], env=front_env, cwd=project), "mode")
    assert "Unknown field" not in output


def test_bad_tool_layerplan_option_names_file_line_and_key(tmp_path: Path, hatchling_python: Path, front_env: dict) -> None:
    project = _project(tmp_path, f"[{TARGET}]\nbase = \"127.0.0.1:9/unused\"\n")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('platform = "linux/amd64"', 'platform = "linux/amd64"\ngroup-layers = 0'))
    _fails(
        run([hatchling_python, "-m", "hatchling", "build", "-t", "image"], env=front_env, cwd=project),
        "pyproject.toml:", "`tool.layerplan.group-layers`: must be an integer from 1 to 50",
    )


def test_target_table_wins_over_tool_layerplan(tmp_path: Path, hatchling_python: Path, front_env: dict) -> None:
    # [tool.layerplan] names a lock that does not exist; the target's `lock` replaces it,
    # so the build gets past the lock and stops at the (unreachable) base image.
    project = _project(tmp_path, f"[{TARGET}]\nbase = \"oci-archive:/nonexistent/base.tar\"\nlock = \"uv.lock\"\n")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('platform = "linux/amd64"', 'platform = "linux/amd64"\nlock = "missing.lock"'))
    output = _fails(run([hatchling_python, "-m", "hatchling", "build", "-t", "image"], env=front_env, cwd=project), "base.tar")
    assert "missing.lock" not in output


def test_no_lock_says_how_to_make_one(tmp_path: Path, hatchling_python: Path, front_env: dict) -> None:
    project = _project(tmp_path, f"[{TARGET}]\nbase = \"127.0.0.1:9/unused\"\n")
    (project / "uv.lock").unlink()
    _fails(
        run([hatchling_python, "-m", "hatchling", "build", "-t", "image"], env=front_env, cwd=project),
        "No lockfile found", "`uv lock`", f"`{TARGET}.lock`",
    )


def test_hatchling_on_a_setuptools_project_points_to_the_cli(tmp_path: Path, hatchling_python: Path, front_env: dict) -> None:
    project = copy_project(SETUPTOOLS_APP, tmp_path / "app")
    _fails(
        run([hatchling_python, "-m", "hatchling", "build", "-t", "image"], env=front_env, cwd=project),
        "builds with `setuptools.build_meta`, not hatchling", "`layerplan build", "python setup.py build_image",
    )


# -- through hatch itself --------------------------------------------------------------


def test_hatch_without_a_lock_says_how_to_make_one(tmp_path: Path, hatch: Path, front_env: dict, layerplan_wheel: Path) -> None:
    project = _project(tmp_path, f"[{TARGET}]\nbase = \"127.0.0.1:9/unused\"\n")
    set_build_requires(project, ["hatchling", f"layerplan=={_version(layerplan_wheel)}"])
    (project / "uv.lock").unlink()
    _fails(run([hatch, "build", "-t", "image"], env=front_env, cwd=project), "No lockfile found", "`uv lock`")
    assert not (project / "dist").exists() or not any((project / "dist").iterdir())


def test_hatch_shows_a_bad_option(tmp_path: Path, hatch: Path, front_env: dict, layerplan_wheel: Path) -> None:
    project = _project(tmp_path, f"[{TARGET}]\nmode = \"podman\"\n")
    set_build_requires(project, ["hatchling", f"layerplan=={_version(layerplan_wheel)}"])
    _fails(run([hatch, "build", "-t", "image"], env=front_env, cwd=project), f"Field `{TARGET}.mode` must be one of")


def test_hatch_on_a_setuptools_project_refuses_the_target(tmp_path: Path, hatch: Path, front_env: dict) -> None:
    # hatch itself answers before any plugin runs: only hatchling projects have targets.
    project = copy_project(SETUPTOOLS_APP, tmp_path / "app")
    _fails(run([hatch, "build", "-t", "image"], env=front_env, cwd=project), "Target `image` is not supported by `setuptools.build_meta`")


def _version(wheel: Path) -> str:
    return wheel.name.split("-")[1]
