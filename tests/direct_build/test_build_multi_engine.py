"""A multi-platform build of the example on the real two-platform base (Debian 12 amd64 and
arm64, ``scripts/test-engine.sh start --with-arm64``), pushed to the real registry: the
arm64 image runs under qemu and the amd64 one natively. The build itself never runs an
arm64 binary: it reads the arm64 base's files and installs the lock's aarch64 wheels.

The shared-layer digests, single uploads and reproducibility are proved without an engine
in test_build_multi.py; what only an engine shows is here.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.direct_build.helpers import EXPECTED_OUTPUT, build_json, copy_example

pytestmark = pytest.mark.engine

NUMPY_CHECK = "import numpy, platform; print(platform.machine(), numpy.arange(4).sum())"


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory, registry: str, multi_base_image: str) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("multi-engine")
    project = copy_example(root / "example")
    ref = f"{registry}/layerplan-test/multi-example:{uuid.uuid4().hex[:12]}"
    report = build_json(
        project, multi_base_image, f"docker://{ref}", f"oci:{root / 'oci'}", f"docker-daemon:{ref}-local",
        cache=root / "cache",
        extra=("--platform", "linux/amd64,linux/arm64"),
    )  # fmt: skip
    return {"ref": ref, "report": report, "root": root}


def run(ref: str, platform: str, *command: str, entrypoint: str | None = None) -> str:
    """``docker run`` one platform's image by its digest (so no other platform's tag is used)."""
    chosen = ["--entrypoint", entrypoint] if entrypoint else []
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--platform", platform, *chosen, ref, *command],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_index_names_both_platforms_and_skopeo_reads_it(pushed: dict[str, Any]) -> None:
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{pushed['ref']}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    index = json.loads(raw.stdout)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [(m["platform"]["architecture"], m["digest"]) for m in index["manifests"]] == [
        ("amd64", pushed["report"]["platforms"][0]["digest"]),
        ("arm64", pushed["report"]["platforms"][1]["digest"]),
    ]


def test_the_amd64_image_runs_natively(pushed: dict[str, Any], docker_client: Any) -> None:
    ref = f"{pushed['ref'].rsplit(':', 1)[0]}@{pushed['report']['platforms'][0]['digest']}"
    assert run(ref, "linux/amd64").startswith(EXPECTED_OUTPUT)


def test_the_arm64_image_runs_under_emulation(pushed: dict[str, Any], docker_client: Any) -> None:
    ref = f"{pushed['ref'].rsplit(':', 1)[0]}@{pushed['report']['platforms'][1]['digest']}"
    assert run(ref, "linux/arm64").startswith(EXPECTED_OUTPUT)
    assert run(ref, "linux/arm64", "-c", NUMPY_CHECK, entrypoint="/app/.venv/bin/python").split() == ["aarch64", "6"]


def test_the_engine_loads_its_own_platform(pushed: dict[str, Any], docker_client: Any) -> None:
    image = docker_client.images.get(f"{pushed['ref']}-local")
    try:
        assert image.attrs["Architecture"] == "amd64"
        assert image.id == pushed["report"]["platforms"][0]["config_digest"]
    finally:
        docker_client.images.remove(f"{pushed['ref']}-local", force=True)


def test_skopeo_copies_the_engines_platform_from_the_layout(pushed: dict[str, Any], docker_client: Any) -> None:
    """skopeo (containers/image) reads the layout's nested index and picks this machine's platform."""
    name = f"layerplan-test-multi-oci:{uuid.uuid4().hex[:12]}"
    subprocess.run(
        ["skopeo", "copy", f"oci:{Path(pushed['root']) / 'oci'}", f"docker-daemon:{name}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    try:
        image = docker_client.images.get(name)
        assert image.attrs["Architecture"] == "amd64"
        assert docker_client.containers.run(name, remove=True, network_mode="none").decode().startswith(EXPECTED_OUTPUT)
    finally:
        docker_client.images.remove(name, force=True)
