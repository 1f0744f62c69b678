"""`layerplan build` end to end: real registry, real engine, real wheels from the index."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.direct_build.helpers import EXPECTED_OUTPUT, build_json, copy_example, layer_by_name, layerplan, pushed_layers

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("layerplan-cache")


@pytest.fixture(scope="module")
def first_build(tmp_path_factory: pytest.TempPathFactory, registry: str, base_image: str, shared_cache: Path) -> dict:
    project = copy_example(tmp_path_factory.mktemp("first") / "example")
    ref = f"{registry}/layerplan-test/example:first"
    report = build_json(project, base_image, f"registry:{ref}", cache=shared_cache)
    return {"project": project, "ref": ref, "report": report}


def manifest(registry: str, repository: str, reference: str) -> dict:
    response = requests.get(
        f"http://{registry}/v2/{repository}/manifests/{reference}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def test_pushed_image_runs_and_skopeo_agrees(first_build: dict, docker_client, registry: str) -> None:
    report, ref = first_build["report"], first_build["ref"]
    inspect = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"], capture_output=True, text=True, check=True
    )
    assert json.loads(inspect.stdout)["Digest"] == report["digest"]
    docker_client.images.pull(ref)
    output = docker_client.containers.run(ref, remove=True, network_mode="none").decode()
    assert output.startswith(EXPECTED_OUTPUT)
    kinds = [layer["kind"] for layer in report["layers"]]
    assert kinds[0] == "base" and kinds[-1] == "app"
    assert all(layer["status"] == "built" for layer in report["layers"] if layer["kind"] != "base")


def test_runs_as_non_root_with_a_read_only_root(first_build: dict, docker_client) -> None:
    ref = first_build["ref"]
    docker_client.images.pull(ref)
    uid = docker_client.containers.run(ref, entrypoint=["id", "-u"], remove=True, network_mode="none").decode().strip()
    assert uid != "0"
    output = docker_client.containers.run(ref, remove=True, network_mode="none", read_only=True).decode()
    assert output.startswith(EXPECTED_OUTPUT)


def test_docker_history_explains_every_layer(first_build: dict, docker_client) -> None:
    ref = first_build["ref"]
    docker_client.images.pull(ref)
    history = [h["CreatedBy"] for h in docker_client.api.history(ref)]
    ours = [line for line in history if line.startswith("layerplan:")]
    names = [layer["name"] for layer in first_build["report"]["layers"] if layer["kind"] != "base"]
    assert len(ours) == len(names)
    assert any("numpy==2.4.6" in line for line in ours)
    assert any(line.startswith("layerplan: app: layerplan-example") for line in ours)


def test_code_change_uploads_only_the_app_layer(first_build: dict, registry: str, base_image: str, shared_cache: Path) -> None:
    project, ref = first_build["project"], first_build["ref"]
    before = manifest(registry, "layerplan-test/example", "first")
    cli = project / "src" / "layerplan_example" / "cli.py"
    original = cli.read_text()
    # unique, so the registry (kept between test runs) cannot have this layer yet
    cli.write_text(original + f"\n# a one-line change {uuid.uuid4()}\n")
    try:
        report = build_json(project, base_image, f"registry:{ref}", cache=shared_cache)
    finally:
        cli.write_text(original)
    layers = layer_by_name(report)
    assert [name for name, layer in layers.items() if layer["status"] == "built"] == ["app"]
    uploaded = pushed_layers(report)
    assert [b["digest"] for b in uploaded] == [layers["app"]["digest"]]
    (push,) = [o for o in report["outputs"] if o["kind"] == "registry"]
    pushed = [b for b in push["blobs"] if b["status"] == "pushed"]
    assert len(pushed) == 2  # the app layer and the config (the manifest is put last)
    assert push["bytes_uploaded"] < 64 * 1024
    # the registry agrees: only the app layer's digest changed
    after = manifest(registry, "layerplan-test/example", "first")
    changed = [a["digest"] for a, b in zip(after["layers"], before["layers"]) if a["digest"] != b["digest"]]
    assert changed == [layers["app"]["digest"]]


def test_two_clones_give_the_same_digest(tmp_path: Path, base_image: str) -> None:
    digests = []
    for index in range(2):
        project = copy_example(tmp_path / f"clone-{index}" / ("deep/" * index) / "example")
        stamp = time.time() - 86400 * (index + 1) * 7
        for path in project.rglob("*"):
            os.utime(path, (stamp, stamp))
        report = build_json(project, base_image, f"oci:{tmp_path / f'oci-{index}'}", cache=tmp_path / f"cache-{index}")
        digests.append(report["digest"])
    assert digests[0] == digests[1]


def test_dependency_bump_changes_only_its_layer(tmp_path: Path, base_image: str, shared_cache: Path) -> None:
    project = copy_example(tmp_path / "example")
    before = layer_by_name(build_json(project, base_image, f"oci:{tmp_path / 'before'}", cache=shared_cache))
    import uv

    uv_cmd = uv.find_uv_bin()  # a fresh machine has no uv on PATH: the package's own binary
    subprocess.run(
        [uv_cmd, "lock", "--project", str(project), "--upgrade-package", "humanize==4.15.0",
         "--default-index", "https://pypi.org/simple", "--quiet"],
        check=True, env={**os.environ, "UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never"},
    )
    after = layer_by_name(build_json(project, base_image, f"oci:{tmp_path / 'after'}", cache=shared_cache))
    changed = sorted(name for name in after if after[name]["digest"] != before[name]["digest"])
    humanize_layer = next(name for name, layer in after.items() if "humanize==4.15.0" in layer["created_by"])
    assert changed == [humanize_layer]


def test_archives_load_into_docker_and_skopeo(tmp_path: Path, first_build: dict, base_image: str, shared_cache: Path, docker_client) -> None:
    docker_tar, oci_tar = tmp_path / "image-docker.tar", tmp_path / "image-oci.tar"
    build_json(
        first_build["project"], base_image, f"docker-archive:{docker_tar}", f"oci-archive:{oci_tar}",
        cache=shared_cache, extra=("--tag", "layerplan-test/archive:docker"),
    )
    loaded = subprocess.run(["docker", "load", "-i", str(docker_tar)], capture_output=True, text=True, check=True)
    assert "layerplan-test/archive:docker" in loaded.stdout
    subprocess.run(
        ["skopeo", "copy", "--quiet", f"oci-archive:{oci_tar}", "docker-daemon:layerplan-test/archive:oci"], check=True
    )
    for tag in ("docker", "oci"):
        output = docker_client.containers.run(f"layerplan-test/archive:{tag}", remove=True, network_mode="none").decode()
        assert output.startswith(EXPECTED_OUTPUT)


def test_load_into_the_engine(first_build: dict, base_image: str, shared_cache: Path, docker_client) -> None:
    build_json(first_build["project"], base_image, "docker:layerplan-test/loaded:1", cache=shared_cache)
    output = docker_client.containers.run("layerplan-test/loaded:1", remove=True, network_mode="none").decode()
    assert output.startswith(EXPECTED_OUTPUT)


def test_plan_with_base_reads_the_target_like_build(first_build: dict, base_image: str, shared_cache: Path) -> None:
    result = layerplan("plan", str(first_build["project"]), "--base", base_image, "--cache-dir", str(shared_cache), "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["target"]["python_full_version"] == "3.11.2"  # from the base's files, not an option
    assert plan["target"]["libc"] == "glibc-2.36"
    built = [layer["name"] for layer in first_build["report"]["layers"] if layer["kind"] != "base"]
    assert [layer["name"] for layer in plan["layers"] if layer["kind"] != "config"] == built
