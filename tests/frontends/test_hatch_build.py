"""``hatch build -t image`` on the example project, with the plugin from this checkout's
wheel: the archive runs in the real engine, and is the image ``layerplan build`` makes."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from tests.frontends.frontend_tools import (
    EXAMPLE,
    EXAMPLE_LINE,
    SETUPTOOLS_APP,
    append_table,
    archive_digest,
    archive_image,
    copy_project,
    must,
    run,
    run_archive,
    run_image,
    set_build_requires,
)

pytestmark = [pytest.mark.engine, pytest.mark.tools]

ARCHIVE = "dist/layerplan_example-0.1.0-image.tar"


def _example(tmp: Path, layerplan_wheel: Path, table: str) -> Path:
    project = copy_project(EXAMPLE, tmp / "example")
    version = layerplan_wheel.name.split("-")[1]
    set_build_requires(project, ["hatchling", f"layerplan=={version}"])
    append_table(project, table)
    return project


@pytest.fixture(scope="module")
def hatch_built(tmp_path_factory: pytest.TempPathFactory, hatch: Path, front_env: dict, layerplan_wheel: Path, base_image: str):
    """The example, built once with `hatch build -t image` (default archive + an OCI layout)."""
    project = _example(
        tmp_path_factory.mktemp("hatch-image"),
        layerplan_wheel,
        f"""
        [tool.hatch.build.targets.image]
        base = "{base_image}"
        outputs = ["oci-archive:{ARCHIVE}", "oci:dist/layout"]
        tag = "layerplan-example:hatch"
        """.replace("\n        ", "\n"),
    )
    result = must(run([hatch, "build", "-t", "image"], env=front_env, cwd=project))
    return project, result


def test_hatch_lists_the_archive_and_every_output(hatch_built) -> None:
    project, result = hatch_built
    assert (project / ARCHIVE).is_file()
    assert (project / "dist" / "layout" / "index.json").is_file()
    listed = result.stdout + result.stderr
    assert ARCHIVE in listed
    assert str(project / "dist" / "layout") in listed
    assert "app " in listed and "dep-numpy" in listed  # layerplan's build report
    assert "Traceback" not in listed


def test_the_archive_runs_in_the_engine(hatch_built, docker_client, front_env: dict) -> None:
    project, _ = hatch_built
    output = run_archive(project / ARCHIVE, "layerplan-frontends/hatch-example:1", docker_client, front_env)
    assert output.startswith(EXAMPLE_LINE), output


def test_the_archive_names_the_configured_tag(hatch_built) -> None:
    import tarfile

    project, _ = hatch_built
    with tarfile.open(project / ARCHIVE) as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    names = [m.get("annotations", {}).get("org.opencontainers.image.ref.name") for m in index["manifests"]]
    assert names == ["layerplan-example:hatch"]


def test_same_image_as_layerplan_build(hatch_built, front_env: dict, base_image: str, tmp_path: Path) -> None:
    # hatchling's in-process wheel and the PEP 517 build give the same app layer, so the
    # plugin and the CLI build one image, byte for byte.
    project, _ = hatch_built
    cli_archive = tmp_path / "cli.tar"
    result = must(
        run(
            [sys.executable, "-m", "layerplan", "build", project, "--base", base_image, "--output", f"oci-archive:{cli_archive}", "--json"],
            env={**front_env, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    )
    assert json.loads(result.stdout)["digest"] == archive_digest(project / ARCHIVE)


def test_hatch_clean_removes_the_archive(hatch_built, hatch: Path, front_env: dict) -> None:
    project, _ = hatch_built
    must(run([hatch, "build", "-t", "image", "--clean-only"], env=front_env, cwd=project))
    assert not (project / ARCHIVE).exists()


def test_python_m_hatchling_build_in_an_env_with_layerplan(
    tmp_path: Path, hatchling_python: Path, front_env: dict, layerplan_wheel: Path, base_image: str, docker_client
) -> None:
    project = _example(tmp_path, layerplan_wheel, f'[tool.hatch.build.targets.image]\nbase = "{base_image}"\n')
    result = must(run([hatchling_python, "-m", "hatchling", "build", "-t", "image"], env=front_env, cwd=project))
    assert ARCHIVE in result.stderr + result.stdout
    output = run_archive(project / ARCHIVE, "layerplan-frontends/hatchling-example:1", docker_client, front_env)
    assert output.startswith(EXAMPLE_LINE), output


def test_target_table_wins_over_tool_layerplan_in_the_image(
    tmp_path: Path, hatchling_python: Path, front_env: dict, layerplan_wheel: Path, base_image: str
) -> None:
    project = _example(
        tmp_path,
        layerplan_wheel,
        f'[tool.hatch.build.targets.image]\nbase = "{base_image}"\nuser = "4242:4242"\nenv = {{ GREETING = "hatch" }}\n',
    )
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('platform = "linux/amd64"', 'platform = "linux/amd64"\nuser = "1000:1000"\nworkdir = "/srv"'))
    must(run([hatchling_python, "-m", "hatchling", "build", "-t", "image"], env=front_env, cwd=project))
    config, _ = archive_image(project / ARCHIVE)
    assert config["config"]["User"] == "4242:4242"  # the target's
    assert config["config"]["WorkingDir"] == "/srv"  # [tool.layerplan]'s, not overridden
    assert "GREETING=hatch" in config["config"]["Env"]


def test_compile_bytecode_from_the_target_table(
    tmp_path: Path, hatchling_python: Path, front_env: dict, layerplan_wheel: Path, base_image: str
) -> None:
    # The small setuptools fixture, moved to hatchling: two tiny dependencies to rebuild.
    project = copy_project(SETUPTOOLS_APP, tmp_path / "app")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace('build-backend = "setuptools.build_meta"', 'build-backend = "hatchling.build"')
    pyproject.write_text(text.replace("[tool.setuptools.packages.find]\nwhere = [\"src\"]", ""))
    set_build_requires(project, ["hatchling"])
    append_table(
        project,
        f'[tool.hatch.build.targets.wheel]\npackages = ["src/setuptools_app"]\n\n'
        f'[tool.hatch.build.targets.image]\nbase = "{base_image}"\ncompile-bytecode = false\n',
    )
    must(run([hatchling_python, "-m", "hatchling", "build", "-t", "image"], env=front_env, cwd=project))
    _, layers = archive_image(project / "dist" / "setuptools_app-0.1.0-image.tar")
    app_files = layers[-1]
    assert any(name.endswith("setuptools_app/cli.py") for name in app_files), app_files
    assert not [name for name in app_files if name.endswith(".pyc")]


def test_dockerfile_mode_context_builds_with_docker(
    tmp_path: Path, hatch: Path, front_env: dict, layerplan_wheel: Path, base_image: str, docker_client
) -> None:
    if importlib.util.find_spec("layerplan.dockerfile") is None:
        pytest.skip("layerplan's Dockerfile emitter (layerplan.dockerfile) has not landed in this checkout")
    # offline: every wheel goes into the context, so the build needs no network (the
    # base image does not trust this machine's TLS-inspecting proxy anyway).
    project = _example(
        tmp_path,
        layerplan_wheel,
        f'[tool.hatch.build.targets.image]\nbase = "{base_image}"\nmode = "dockerfile"\noffline = true\n',
    )
    result = must(run([hatch, "build", "-t", "image"], env=front_env, cwd=project))
    context = project / "dist" / "layerplan_example-0.1.0-image-context"
    assert str(context) in result.stdout + result.stderr
    assert (context / "Dockerfile").is_file()
    assert not (project / ARCHIVE).exists()
    tag = "layerplan-frontends/hatch-dockerfile:1"
    must(run(["docker", "build", "--network", "none", "-q", "-t", tag, context], env=front_env))
    output = run_image(tag, docker_client)
    assert output.startswith(EXAMPLE_LINE), output
