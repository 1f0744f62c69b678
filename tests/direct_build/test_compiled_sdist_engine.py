"""A locked sdist that needs compiling (netifaces 0.11.0: C, no wheel for CPython 3.11),
built by `layerplan build` in a container of the builder image through the real engine.

The lock is a hashed requirements.txt: it cannot say that no wheel fits, so the build
finds out from the index and takes the sdist. Engine-free errors (no engine, a base the
engine cannot run) are in test_build_direct.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.direct_build.helpers import build_json, layerplan

pytestmark = pytest.mark.engine

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "compiled-sdist"


def clone(where: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, where / "app", ignore=shutil.ignore_patterns("regenerate.sh")))


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory, base_image: str, builder_image: str) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("compiled")
    project = clone(tmp)
    report = build_json(
        project, base_image, "docker-daemon:layerplan-test/compiled-sdist:1", cache=tmp / "cache", extra=("--builder", builder_image)
    )
    return {"project": project, "report": report, "tmp": tmp}


def test_the_compiled_wheel_is_built_for_the_image_and_runs(first: dict[str, Any], docker_client) -> None:
    (built,) = first["report"]["built_from_source"]
    assert built["name"] == "netifaces" and built["status"] == "built"
    assert built["sdist"]["file"] == "netifaces-0.11.0.tar.gz"
    assert built["wheel"]["file"] == "netifaces-0.11.0-cp311-cp311-linux_x86_64.whl"
    assert any(pin.startswith("setuptools==") for pin in built["build_requirements"])
    output = docker_client.containers.run("layerplan-test/compiled-sdist:1", remove=True, network_mode="none").decode()
    assert output == "interfaces: lo compiled: True\n"  # the C extension, not a fallback
    leftovers = docker_client.containers.list(all=True, filters={"label": "org.layerplan.role=sdist-builder"})
    assert leftovers == []


def test_two_clones_with_two_caches_give_the_same_digest(first: dict[str, Any], tmp_path: Path, base_image: str, builder_image: str) -> None:
    again = build_json(
        clone(tmp_path), base_image, f"oci:{tmp_path / 'image'}", cache=tmp_path / "cache", extra=("--builder", builder_image)
    )
    assert again["built_from_source"][0]["status"] == "built"  # compiled again, from an empty cache
    assert again["built_from_source"][0]["wheel"] == first["report"]["built_from_source"][0]["wheel"]
    assert again["digest"] == first["report"]["digest"]


def test_a_builder_without_a_compiler_fails_in_one_line(tmp_path: Path, base_image: str) -> None:
    """The default builder is the base, which has no gcc here: the compiler's own error,
    and where to set another builder; nothing is written."""
    result = layerplan(
        "build", str(clone(tmp_path)), "--base", base_image, "--output", f"oci:{tmp_path / 'image'}",
        "--cache-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "netifaces 0.11.0" in line and "gcc" in line and "`builder` option" in line
    assert not (tmp_path / "image").exists()
