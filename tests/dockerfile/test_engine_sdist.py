"""The Dockerfile back end still lets pip build a package published only as an sdist, in
the image: the plan's `sdist` choice pins the sdist's hash, pip downloads it and builds it
(its build requirements from the index), and the image runs without a network."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from engine import unavailable

from tests.dockerfile.helpers import docker, docker_build, run_cli

pytestmark = pytest.mark.engine

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "locks" / "sdist-only"


def test_pip_builds_the_sdist_in_the_image(tmp_path: Path, index_base: str) -> None:
    if shutil.which("docker") is None:
        unavailable("the docker CLI is not installed")
    project = tmp_path / "sdist-only"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("regenerate.sh"))
    context = tmp_path / "context"
    emitted = run_cli("dockerfile", str(project), "--base", index_base, "-o", str(context))
    assert emitted.code == 0, emitted.err
    tag = f"layerplan-test/sdist-only-dockerfile:{os.getpid()}"
    try:
        output = docker_build(context, tag)
        assert "docopt-0.6.2.tar.gz" in output  # pip downloaded the sdist, not a wheel
        ran = docker("run", "--rm", "--network", "none", tag, "greet", "bob")
        assert ran.stdout.strip() == "hello bob from docopt 0.6.2"
    finally:
        docker("rmi", "-f", tag, check=False)


def test_an_offline_context_carries_the_wheel_built_from_the_sdist(tmp_path: Path, base_image: str) -> None:
    """--offline: no network in `docker build`, no compiler in the image: the context holds
    the wheel layerplan built from the locked sdist, and the image runs it."""
    if shutil.which("docker") is None:
        unavailable("the docker CLI is not installed")
    project = tmp_path / "sdist-only"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("regenerate.sh"))
    context = tmp_path / "context"
    emitted = run_cli("dockerfile", str(project), "--base", base_image, "--offline", "-o", str(context))
    assert emitted.code == 0, emitted.err
    tag = f"layerplan-test/sdist-only-offline:{os.getpid()}"
    try:
        docker_build(context, tag, network="none")
        ran = docker("run", "--rm", "--network", "none", tag, "greet", "bob")
        assert ran.stdout.strip() == "hello bob from docopt 0.6.2"
    finally:
        docker("rmi", "-f", tag, check=False)
