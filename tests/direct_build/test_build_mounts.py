"""Monorepos: services that share layers push each shared blob to a registry once.

Two services of one repository (here: the example, and a copy under another project
name, so only the app layer and the config differ) pushed to two repositories of one
registry. The first push uploads everything; the second mounts every shared layer from
the first repository (the store remembers where it pushed them), uploading only its app
layer and config. The in-memory registry counts what each repository received; the
engine-marked test does the same against the distribution registry and reads the
records back with ``layerplan cache``.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from memregistry import MemRegistry
from ocifiles import digest_of
from synthbase import SyntheticBase

from layerplan.oci import Digest
from layerplan.registry import RegistryClient
from tests.direct_build.conftest import ExampleBuild
from tests.direct_build.helpers import build_json, copy_example, image_uploads, layerplan


def service(directory: Path, name: str) -> Path:
    """The example under the project name ``name``: its own app layer and config, every
    other layer (base, dependencies, the workspace's local package) the example's."""
    project = copy_example(directory)
    for path in (project / "pyproject.toml", project / "uv.lock"):
        path.write_text(path.read_text().replace("layerplan-example", name))
    return project


def linked_cache(example: ExampleBuild, destination: Path) -> Path:
    """The session's cache (every layer and wheel built once), hard-linked, without the
    records of where other tests pushed: these tests' records stay their own."""
    shutil.copytree(example.cache, destination, copy_function=os.link, ignore=shutil.ignore_patterns("locations"))
    return destination


def statuses(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (output,) = report["outputs"]
    return {blob["digest"]: blob for blob in output["blobs"]}


def app_digest(report: dict[str, Any]) -> str:
    (app,) = [layer["digest"] for layer in report["layers"] if layer["name"] == "app"]
    return str(app)


def test_a_second_service_mounts_every_shared_layer(example_build: ExampleBuild, memregistry: MemRegistry, tmp_path: Path) -> None:
    cache = linked_cache(example_build, tmp_path / "cache")
    a, b = service(tmp_path / "service-a", "service-a"), service(tmp_path / "service-b", "service-b")
    registry = memregistry.address
    first = build_json(a, example_build.base, f"docker://{registry}/team/service-a:1", cache=cache, env=example_build.env)
    assert all(blob["status"] == "pushed" for blob in statuses(first).values())  # a local base: nothing to mount
    memregistry.reset_log()

    second = build_json(b, example_build.base, f"docker://{registry}/team/service-b:1", cache=cache, env=example_build.env)

    shared = {layer["digest"] for layer in second["layers"]} & {layer["digest"] for layer in first["layers"]}
    assert len(shared) == len(second["layers"]) - 1  # every layer but the app: base, dependencies, local package
    assert app_digest(second) not in shared
    blobs = statuses(second)
    for digest in shared:
        assert (blobs[digest]["status"], blobs[digest]["mounted_from"], blobs[digest]["bytes_uploaded"]) == ("mounted", "team/service-a", 0)
    app, config = blobs[app_digest(second)], blobs[second["config_digest"]]
    assert app["status"] == config["status"] == "pushed"
    (output,) = second["outputs"]
    assert output["bytes_uploaded"] == app["size"] + config["size"]
    assert output["bytes_mounted"] == sum(blob["size"] for digest, blob in blobs.items() if digest in shared)
    # the registry agrees: service-b received its app layer and config, and nothing shared (and its SBOMs)
    assert image_uploads(memregistry, "team/service-b", second) == {app["digest"]: app["size"], config["digest"]: config["size"]}
    assert sorted(r.query["mount"] for r in memregistry.calls("POST", "/team/service-b/blobs/uploads/") if "mount" in r.query) == sorted(shared)
    manifest_puts = memregistry.calls("PUT", "/manifests/1$")
    assert [(r.path, r.status) for r in manifest_puts] == [("/v2/team/service-b/manifests/1", 201)]
    assert all(memregistry.has_blob("team/service-b", digest) for digest in blobs)

    # what a user reads: the third service mounts everything, the table says so
    memregistry.reset_log()
    result = layerplan("build", str(b), "--base", example_build.base, "--output", f"docker://{registry}/team/service-c:1",
                       "--cache-dir", str(cache), env=example_build.env)
    assert result.returncode == 0, result.stderr
    line = re.search(rf"docker://{registry}/team/service-c:1: (.*)", result.stdout)
    assert line is not None, result.stdout
    assert re.fullmatch(rf"0 blob\(s\) pushed \(0 B\), 0 already there, {len(blobs)} mounted \(\d+(\.\d+)? MB\)", line.group(1)), line.group(1)
    assert f"docker://{registry}/team/service-c:1: 2 SBOM(s) and provenance attached (tag sha256-" in result.stdout
    assert set(memregistry.uploaded_bytes()).isdisjoint(blobs)  # only the SBOMs went up (small, uploaded, not mounted)


def test_a_declined_mount_falls_back_to_the_next_repository_then_to_an_upload(
    example_build: ExampleBuild, memregistry: MemRegistry, tmp_path: Path
) -> None:
    cache = linked_cache(example_build, tmp_path / "cache")
    registry = memregistry.address
    projects = {name: service(tmp_path / name, name) for name in ("service-a", "service-b", "service-c")}

    def push(name: str) -> dict[str, Any]:
        return build_json(projects[name], example_build.base, f"docker://{registry}/team/{name}:1", cache=cache, env=example_build.env)

    push("service-a")
    second = push("service-b")
    dependencies = [layer["digest"] for layer in second["layers"] if layer["kind"] not in ("base", "app")]
    only_in_a, in_neither = dependencies[0], dependencies[1]
    # service-b (the most recent holder) loses one blob, both lose another: a garbage
    # collection, a deleted repository -- the records cannot know
    with memregistry._lock:
        memregistry.repos["team/service-b"].blobs -= {only_in_a, in_neither}
        memregistry.repos["team/service-a"].blobs -= {in_neither}
    memregistry.reset_log()

    third = push("service-c")

    blobs = statuses(third)
    assert (blobs[only_in_a]["status"], blobs[only_in_a]["mounted_from"]) == ("mounted", "team/service-a")
    assert blobs[in_neither]["status"] == "pushed"
    tries = [r.query["from"] for r in memregistry.calls("POST", "/team/service-c/blobs/uploads/") if r.query.get("mount") == in_neither]
    assert tries == ["team/service-b", "team/service-a"]
    pushed = {d: b["size"] for d, b in blobs.items() if b["status"] == "pushed"}
    assert pushed == {in_neither: blobs[in_neither]["size"], app_digest(third): blobs[app_digest(third)]["size"],
                      third["config_digest"]: blobs[third["config_digest"]]["size"]}
    assert image_uploads(memregistry, "team/service-c", third) == pushed
    (output,) = third["outputs"]
    assert output["bytes_uploaded"] == sum(pushed.values())
    assert sum(1 for b in blobs.values() if b["status"] == "mounted") == len(blobs) - 3
    assert all(memregistry.has_blob("team/service-c", digest) for digest in blobs)
    # each upload the declined mounts opened was cancelled
    declined = [r for r in memregistry.calls("POST", "/team/service-c/blobs/uploads/") if "mount" in r.query and r.status == 202]
    assert len(declined) == len(memregistry.calls("DELETE", "/team/service-c/blobs/uploads/")) == 3


def test_a_base_pulled_once_is_mounted_from_its_repository_later(
    example_build: ExampleBuild, memregistry: MemRegistry, synthetic_base: SyntheticBase, tmp_path: Path
) -> None:
    """A build that pulled its base records where the base's layers are; a later build on a
    local copy of that base (no origin of its own) pushes by mounting them from there."""
    cache = linked_cache(example_build, tmp_path / "cache")
    registry = memregistry.address
    memregistry.seed("library/python", "3.11-bookworm", synthetic_base.image.manifest_bytes, synthetic_base.image.blobs())
    build_json(example_build.project, f"{registry}/library/python:3.11-bookworm", f"oci:{tmp_path / 'oci'}", cache=cache, env=example_build.env)

    report = build_json(example_build.project, example_build.base, f"docker://{registry}/team/app:1", cache=cache, env=example_build.env)

    (base_layer,) = synthetic_base.image.layers
    blob = statuses(report)[digest_of(base_layer)]
    assert (blob["status"], blob["mounted_from"], blob["bytes_uploaded"]) == ("mounted", "library/python", 0)
    assert digest_of(base_layer) not in memregistry.uploaded_bytes()


@pytest.mark.engine
def test_the_real_registry_mounts_shared_layers_and_the_cache_shows_the_records(
    example_build: ExampleBuild, registry: str, tmp_path: Path
) -> None:
    cache = linked_cache(example_build, tmp_path / "cache")
    prefix = f"layerplan-test/mounts-{uuid.uuid4().hex[:12]}"
    a, b = service(tmp_path / "service-a", "service-a"), service(tmp_path / "service-b", "service-b")
    first = build_json(a, example_build.base, f"docker://{registry}/{prefix}/service-a:1", cache=cache, env=example_build.env)
    second = build_json(b, example_build.base, f"docker://{registry}/{prefix}/service-b:1", cache=cache, env=example_build.env)

    blobs = statuses(second)
    shared = {layer["digest"] for layer in second["layers"]} & {layer["digest"] for layer in first["layers"]}
    assert {blobs[d]["status"] for d in shared} == {"mounted"}
    assert {blobs[d]["mounted_from"] for d in shared} == {f"{prefix}/service-a"}
    (output,) = second["outputs"]
    app, config = blobs[app_digest(second)], blobs[second["config_digest"]]
    assert output["bytes_uploaded"] == app["size"] + config["size"]
    assert output["bytes_mounted"] == sum(blobs[d]["size"] for d in shared) > 0
    client = RegistryClient(registry)
    for digest, blob in blobs.items():
        assert client.head_blob(f"{prefix}/service-b", Digest.parse(digest)) == blob["size"]

    # the records: one per blob seen, in `cache info`, gone after `cache prune --all`
    info = layerplan("cache", "info", "--cache-dir", str(cache))
    assert info.returncode == 0, info.stderr
    count = re.search(r"^\s+locations\s+(\d+)\s", info.stdout, re.MULTILINE)
    assert count is not None, info.stdout
    assert int(count.group(1)) == len({*blobs, *statuses(first)})
    pruned = layerplan("cache", "prune", "--all", "--cache-dir", str(cache))
    assert pruned.returncode == 0, pruned.stderr
    assert re.search(rf"^\s+locations\s+{count.group(1)}\s", pruned.stdout, re.MULTILINE), pruned.stdout
    assert not list((cache / "locations").iterdir())
