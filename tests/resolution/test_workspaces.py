"""uv workspaces and monorepos: a root with no project of its own, members with their own
metadata and tables, the same image from the member's directory and from the root."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from synthbase import SyntheticBase

from tests.direct_build.helpers import image_uploads

MONOREPO = Path(__file__).resolve().parents[1] / "fixtures" / "monorepo"


def layerplan(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "layerplan", *map(str, args)],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, cwd=cwd, check=False,
    )


def plan(*args: str | Path, cwd: Path | None = None) -> dict[str, Any]:
    result = layerplan("plan", *args, "--python", "3.11", "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    return Path(shutil.copytree(MONOREPO, tmp_path / "monorepo", ignore=shutil.ignore_patterns("regenerate.sh")))


def test_a_member_of_a_virtual_root_is_planned_with_its_own_metadata(monorepo: Path) -> None:
    api = plan(monorepo, "--package", "api")
    assert api["project"] == {"name": "api", "version": "1.4.0"}
    assert api["settings"]["entrypoint"] == ["/app/.venv/bin/api"]
    # the member's [tool.layerplan] over the root's, key by key
    assert api["settings"]["labels"] == {"org.example.team": "platform", "org.example.tier": "edge"}
    assert api["settings"]["env"]["SERVICE"] == "api"
    worker = plan(monorepo, "--package", "worker")
    assert worker["project"] == {"name": "worker", "version": "2.0.1"}
    assert worker["settings"]["labels"]["org.example.tier"] == "default"
    packages = {name: {p["name"] for layer in doc["layers"] for p in layer["packages"]} for name, doc in (("api", api), ("worker", worker))}
    assert packages["api"] == {"click", "idna", "shared"} and packages["worker"] == {"humanize", "idna", "shared"}


def test_the_root_without_a_member_is_one_line_naming_the_members(monorepo: Path) -> None:
    result = layerplan("plan", monorepo, "--python", "3.11")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "this uv workspace root has no project of its own to build" in result.stderr
    assert "one of api, shared, worker" in result.stderr


def test_the_members_directory_and_package_from_the_root_plan_the_same_image(monorepo: Path) -> None:
    from_root = plan(monorepo, "--package", "api")
    from_member = plan(".", cwd=monorepo / "services" / "api")
    assert [layer["key"] for layer in from_member["layers"]] == [layer["key"] for layer in from_root["layers"]]
    assert from_member["settings"] == from_root["settings"]


def test_two_services_share_their_common_layer(monorepo: Path, tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    reports = {}
    for service in ("api", "worker"):
        result = layerplan(
            "build", monorepo, "--package", service, "--base", synthetic_base.specs["oci"],
            "--output", f"oci:{tmp_path / service}", "--cache-dir", tmp_path / "cache", "--json",
        )
        assert result.returncode == 0, result.stderr
        reports[service] = {layer["name"]: layer for layer in json.loads(result.stdout)["layers"]}
    api, worker = reports["api"], reports["worker"]
    (shared_group,) = [name for name in api if name in worker and name.startswith("deps-") and "idna" in api[name]["created_by"]]
    assert api[shared_group]["digest"] == worker[shared_group]["digest"]  # idna: one layer for both services
    assert worker[shared_group]["status"] == "cached"
    assert api["local"]["digest"] == worker["local"]["digest"]  # the shared library, built once
    assert api["app"]["digest"] != worker["app"]["digest"]


@pytest.mark.engine
def test_each_service_image_runs(monorepo: Path, tmp_path: Path, base_image: str, docker_client: Any) -> None:  # noqa: F811
    for service, line in (("api", "api ok: xn--bcher-kva.example"), ("worker", "worker ok: xn--bcher-kva.example 1.0 kB")):
        tag = f"layerplan-test/monorepo-{service}:{os.getpid()}"
        result = layerplan(
            "build", monorepo, "--package", service, "--base", base_image, "--output", f"docker-daemon:{tag}",
            "--cache-dir", tmp_path / "cache",
        )
        assert result.returncode == 0, result.stderr
        try:
            output = docker_client.containers.run(tag, network_mode="none", remove=True).decode()
        finally:
            docker_client.images.remove(tag, force=True, noprune=True)
        assert output.strip() == line


def test_one_command_builds_every_service(monorepo: Path, tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    """--all-packages: the members with an entrypoint or their own [tool.layerplan] (api,
    worker; not the library), outputs named per member, shared layers built once."""
    result = layerplan(
        "build", monorepo, "--all-packages", "--base", synthetic_base.specs["oci"],
        "--output", f"oci:{tmp_path}/images/{{name}}-{{version}}", "--cache-dir", tmp_path / "cache", "--json",
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "layerplan.builds/1"
    api, worker = document["builds"]
    assert [o["location"] for o in api["outputs"]] == [f"{tmp_path}/images/api-1.4.0"]
    assert [o["location"] for o in worker["outputs"]] == [f"{tmp_path}/images/worker-2.0.1"]
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == [
        "api-1.4.0", "api-1.4.0.provenance.intoto.json", "api-1.4.0.sbom.cdx.json", "api-1.4.0.sbom.spdx.json",
        "worker-2.0.1", "worker-2.0.1.provenance.intoto.json", "worker-2.0.1.sbom.cdx.json", "worker-2.0.1.sbom.spdx.json",
    ]  # fmt: skip
    shared = {layer["digest"] for layer in api["layers"]} & {layer["digest"] for layer in worker["layers"]}
    built_again = [layer["name"] for layer in worker["layers"] if layer["digest"] in shared and layer["status"] == "built"]
    assert built_again == []  # the second member found every shared layer in the cache


def test_several_members_need_outputs_that_name_them(monorepo: Path, tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    result = layerplan(
        "build", monorepo, "--package", "api", "--package", "worker", "--base", synthetic_base.specs["oci"],
        "--output", f"oci:{tmp_path}/image", "--cache-dir", tmp_path / "cache",
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "would be written by every member built" in result.stderr and "{name}" in result.stderr
    assert not (tmp_path / "image").exists()
    planned = layerplan("plan", monorepo, "--package", "api", "--package", "worker")
    assert planned.returncode == 2 and "plans one member at a time" in planned.stderr


def test_a_relative_cache_dir_works_for_a_members_build(monorepo: Path, tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    """The cache directory is decided once, absolute: the backend building a member's
    wheel runs elsewhere (a relative one made it fail with FileNotFoundError)."""
    result = layerplan(
        "build", monorepo, "--package", "api", "--base", synthetic_base.specs["oci"],
        "--output", "oci:image", "--cache-dir", "cache", cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "image" / "index.json").is_file() and (tmp_path / "cache" / "build-envs").is_dir()


def test_one_command_pushes_both_services_and_mounts_what_they_share(
    monorepo: Path, tmp_path: Path, synthetic_base: SyntheticBase, memregistry: Any  # noqa: F811
) -> None:
    """The monorepo's "done when": two services of one workspace, one command, two
    repositories of one registry; the second service's shared layers are mounted, not
    uploaded -- in the JSON report and on the wire (the registry's own count)."""
    result = layerplan(
        "build", monorepo, "--all-packages", "--base", synthetic_base.specs["oci"],
        "--output", f"docker://{memregistry.address}/mono/{{name}}:{{version}}", "--cache-dir", tmp_path / "cache", "--json",
    )
    assert result.returncode == 0, result.stderr
    api, worker = json.loads(result.stdout)["builds"]
    api_layers = {layer["digest"] for layer in api["layers"] if layer["status"] != "base"}
    worker_own = {layer["digest"] for layer in worker["layers"] if layer["status"] != "base"} - api_layers
    (push,) = worker["outputs"]
    mounted = {blob["digest"] for blob in push["blobs"] if blob["status"] == "mounted"}
    pushed = {blob["digest"] for blob in push["blobs"] if blob["status"] == "pushed"}
    shared = api_layers & {layer["digest"] for layer in worker["layers"]}
    assert shared and shared <= mounted  # every layer the services share: mounted from mono/api
    assert pushed - {worker["config_digest"]} == worker_own  # uploaded: only what is the worker's
    on_the_wire = image_uploads(memregistry, "mono/worker", worker, only_there=True)  # not counting its SBOMs
    assert set(on_the_wire) == pushed
    assert push["bytes_uploaded"] == sum(on_the_wire.values())
    assert push["bytes_mounted"] > 0


@pytest.mark.engine
def test_both_pushed_services_run(monorepo: Path, tmp_path: Path, base_image: str, registry: str, docker_client: Any) -> None:  # noqa: F811
    suffix = os.getpid()
    result = layerplan(
        "build", monorepo, "--all-packages", "--base", base_image,
        "--output", f"docker://{registry}/layerplan-test/mono-{suffix}-{{name}}:{{version}}", "--cache-dir", tmp_path / "cache", "--json",
    )
    assert result.returncode == 0, result.stderr
    api, worker = json.loads(result.stdout)["builds"]
    assert worker["outputs"][0]["bytes_mounted"] > 0
    for name, version, line in (("api", "1.4.0", "api ok: xn--bcher-kva.example"), ("worker", "2.0.1", "worker ok: xn--bcher-kva.example 1.0 kB")):
        ref = f"{registry}/layerplan-test/mono-{suffix}-{name}:{version}"
        docker_client.images.pull(ref)
        try:
            assert docker_client.containers.run(ref, network_mode="none", remove=True).decode().strip() == line
        finally:
            docker_client.images.remove(ref, force=True, noprune=True)


def test_a_member_uses_the_workspace_lock_before_a_file_of_its_own(monorepo: Path) -> None:
    """uv installs a member from the workspace's uv.lock: an old requirements.txt in the
    member's directory must not win (autogen-studio has one)."""
    stale = monorepo / "services" / "api" / "requirements.txt"
    stale.write_text("click==7.0 --hash=sha256:" + "0" * 64 + "\n")
    planned = plan(".", cwd=monorepo / "services" / "api")
    assert planned["lock"]["format"] == "uv"
    versions = {p["name"]: p["version"] for layer in planned["layers"] for p in layer["packages"]}
    assert versions["click"] == "8.1.8"
