"""A dependency built from its sdist, in an image that really runs: the direct build of
tests/fixtures/locks/sdist-only on the real base, loaded into the engine and run without
a network (docopt was built here, not in the container: the image has no compiler, no
pip and no index)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from engine import unavailable

from tests.direct_build.helpers import build_json

pytestmark = pytest.mark.engine

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "locks" / "sdist-only"


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=300, check=False)


def test_the_image_imports_and_runs_the_package_built_from_source(tmp_path: Path, base_image: str, docker_client: object) -> None:
    if shutil.which("docker") is None:
        unavailable("the docker CLI is not installed")
    project = tmp_path / "sdist-only"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("regenerate.sh"))
    tag = f"layerplan-test/sdist-only:{os.getpid()}"
    report = build_json(project, base_image, f"docker-daemon:{tag}", cache=tmp_path / "cache")
    try:
        (built,) = report["built_from_source"]
        assert (built["name"], built["status"]) == ("docopt", "built")

        ran = docker("run", "--rm", "--network", "none", tag, "greet", "alice", "--shout")
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == "HELLO ALICE FROM DOCOPT 0.6.2"

        probe = "import docopt, importlib.metadata as m; print(docopt.__file__, m.version('docopt'), m.distribution('docopt').read_text('INSTALLER').strip())"
        imported = docker("run", "--rm", "--network", "none", "--entrypoint", "/app/.venv/bin/python", tag, "-c", probe)
        assert imported.returncode == 0, imported.stderr
        assert imported.stdout.split() == ["/app/.venv/lib/python3.11/site-packages/docopt.py", "0.6.2", "layerplan"]
    finally:
        docker("rmi", "-f", tag)
