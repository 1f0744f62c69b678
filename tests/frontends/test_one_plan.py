"""Every front end resolves a project the same way: `layerplan plan`, `layerplan build`,
`layerplan dockerfile`, `hatch build -t image` and `setup.py build_image`, given the same
project and base, plan the same layer keys.

The base is set where each build tool keeps it -- the hatch image table, setup.cfg's
``[build_image]`` -- and no Python is configured, so the base decides the target; the
``layerplan`` commands get no --base and must find it there too.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.frontends.frontend_tools import (
    EXAMPLE,
    SETUP_PY,
    SETUPTOOLS_APP,
    append_table,
    copy_project,
    must,
    run,
    set_build_requires,
)

pytestmark = [pytest.mark.engine, pytest.mark.tools]


def layerplan(*args: str | Path, env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    """Run this checkout's CLI; its --json output."""
    checkout = {**env, "PYTHONPATH": os.pathsep.join(sys.path)}
    return json.loads(must(run([sys.executable, "-m", "layerplan", *args, "--json"], env=checkout)).stdout)  # type: ignore[no-any-return]


def emitted_keys(project: Path, out: Path, cache: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`layerplan dockerfile`'s plan, in-process (the context has no keys to read back)."""
    from layerplan.dockerfile import DockerfileRequest, emit_context
    from layerplan.resolution import Request

    for name in ("UV_FIND_LINKS", "PIP_FIND_LINKS", "UV_DEFAULT_INDEX", "PIP_INDEX_URL", "PIP_CONFIG_FILE"):
        monkeypatch.setenv(name, env[name])  # the app's build requirements include this layerplan's wheel
    emitted = emit_context(DockerfileRequest(build=Request(project=project, cache_dir=cache), output=out))
    assert "/usr/bin/python3.11 -m venv" in (out / "Dockerfile").read_text()  # the base's interpreter
    return [layer.key for layer in emitted.plan.layers]


def cache_keys(cache: Path) -> set[str]:
    """The plan keys of the layers a build made, as its cache (a cache of its own) records
    them. (The cache keys themselves differ for the app layer: they hold the digest of the
    wheel each tool's own wheel builder made.)"""
    return {json.loads(path.read_bytes())["built_for"] for path in (cache / "keys").rglob("*.json")}


def without_python_option(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('python = "3.11"\n', ""))


def test_hatch_project(
    tmp_path: Path, hatch: Path, front_env: dict[str, str], layerplan_wheel: Path, base_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_project(EXAMPLE, tmp_path / "example")
    without_python_option(project)
    set_build_requires(project, ["hatchling", f"layerplan=={layerplan_wheel.name.split('-')[1]}"])
    append_table(project, f'[tool.hatch.build.targets.image]\nbase = "{base_image}"\ngroup-layers = 3\n')

    planned = [layer["key"] for layer in layerplan("plan", project, "--cache-dir", tmp_path / "c-plan", env=front_env)["layers"]]
    assert len(planned) == 8  # environment, numpy, 3 groups, local, app, config
    report = layerplan(
        "build", project, "--output", f"oci:{tmp_path / 'cli-image'}", "--cache-dir", tmp_path / "c-cli", env=front_env
    )
    built = [layer["key"] for layer in report["layers"] if layer["kind"] != "base"]
    assert built == planned[:-1]  # the config layer holds no files
    assert emitted_keys(project, tmp_path / "ctx", tmp_path / "c-dockerfile", front_env, monkeypatch) == planned
    hatch_env = {**front_env, "LAYERPLAN_CACHE_DIR": str(tmp_path / "c-hatch")}
    must(run([hatch, "build", "-t", "image"], env=hatch_env, cwd=project))
    assert cache_keys(tmp_path / "c-hatch") == cache_keys(tmp_path / "c-cli") == set(planned[:-1])


def test_setuptools_project(
    tmp_path: Path, setuptools_python: Path, front_env: dict[str, str], base_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_project(SETUPTOOLS_APP, tmp_path / "app")
    without_python_option(project)
    (project / "setup.cfg").write_text(f"[build_image]\nbase = {base_image}\n")

    planned = [layer["key"] for layer in layerplan("plan", project, "--cache-dir", tmp_path / "c-plan", env=front_env)["layers"]]
    report = layerplan(
        "build", project, "--output", f"oci:{tmp_path / 'cli-image'}", "--cache-dir", tmp_path / "c-cli", env=front_env
    )
    assert [layer["key"] for layer in report["layers"] if layer["kind"] != "base"] == planned[:-1]
    assert emitted_keys(project, tmp_path / "ctx", tmp_path / "c-dockerfile", front_env, monkeypatch) == planned
    must(run([setuptools_python, "-c", SETUP_PY, "build_image", "--cache-dir", tmp_path / "c-setup"], env=front_env, cwd=project))
    assert cache_keys(tmp_path / "c-setup") == cache_keys(tmp_path / "c-cli") == set(planned[:-1])
