"""The registry as a layer cache (``--cache-from``), without an engine.

A fresh CI runner has an empty local cache; the registry holds the previous image. Each
layer layerplan pushes carries its keys as annotations, so a build with an empty cache
reuses the previous image's layers whose keys match: no wheel downloaded, nothing built,
no layer blob read from the registry for a push.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from memregistry import MemRegistry
from ocifiles import check_image, digest_of, read_oci_layout
from synthbase import SyntheticBase

from tests.direct_build.conftest import ExampleBuild
from tests.direct_build.helpers import build_json, copy_example, image_uploads, layer_by_name, layerplan
from tests.direct_build.test_build_registry import seed_base

KEY = "dev.layerplan.key"
BUILD_KEY = "dev.layerplan.build-key"


def change_app(project: Path, new: str = "ok,") -> None:
    cli = project / "src" / "layerplan_example" / "cli.py"
    cli.write_text(cli.read_text().replace("ok:", new))


def push_first(example_build: ExampleBuild, registry: MemRegistry, tmp_path: Path, ref: str = "team/app:1") -> dict[str, Any]:
    """The example, built with the warm cache and pushed to ``ref``: the previous image."""
    project = copy_example(tmp_path / "first")
    return build_json(project, example_build.base, f"docker://{registry.address}/{ref}", cache=example_build.cache, env=example_build.env)


def wheel_files(cache: Path) -> list[Path]:
    """The wheels and sdists in ``cache``, but the project's own wheel, which a build keeps
    by the fingerprint of its inputs (``built-wheels/``, kind ``source-fingerprint``): built
    here, not downloaded."""
    own = {
        entry for entry in (cache / "built-wheels").glob("*")
        if '"source-fingerprint"' in (entry / "build.json").read_text(encoding="utf-8", errors="replace")
    } if (cache / "built-wheels").is_dir() else set()  # fmt: skip
    return [
        path for path in cache.rglob("*")
        if path.is_file() and path.name.endswith((".whl", ".tar.gz")) and path.parent not in own
    ]  # fmt: skip


def test_pushed_layers_carry_their_keys(example_build: ExampleBuild, memregistry: MemRegistry, tmp_path: Path) -> None:
    first = push_first(example_build, memregistry, tmp_path)
    manifest = json.loads(memregistry.manifest("team/app", "1")[0])
    ours = layer_by_name(first)
    annotated = [layer for layer in manifest["layers"] if "annotations" in layer]
    assert [layer["digest"] for layer in annotated] == [layer["digest"] for layer in ours.values()]
    for descriptor, (name, layer) in zip(annotated, ours.items(), strict=True):
        assert descriptor["annotations"][KEY] == layer["key"]
        # the app layer has no build key: it holds the app wheel's digest, which differs
        # between front ends making the same layer (it is never reused from a registry)
        assert len(descriptor["annotations"].get(BUILD_KEY, "")) == (0 if name == "app" else 64), name
    # the base's layer carries none
    assert "annotations" not in manifest["layers"][0]


def test_a_fresh_runner_reuses_every_layer_but_the_changed_app(
    example_build: ExampleBuild, memregistry: MemRegistry, tmp_path: Path
) -> None:
    first = push_first(example_build, memregistry, tmp_path)
    project = copy_example(tmp_path / "second")
    change_app(project)
    memregistry.reset_log()
    empty = tmp_path / "fresh-cache"
    cache_ref = f"{memregistry.address}/team/app:1"

    second = build_json(
        project, example_build.base, f"docker://{memregistry.address}/team/app:2", cache=empty, env=example_build.env,
        extra=("--cache-from", cache_ref),
    )  # fmt: skip

    layers = layer_by_name(second)
    assert {name: layer["status"] for name, layer in layers.items()} == {
        name: "built" if name == "app" else "reused" for name in layers
    }
    assert {layer["from"] for name, layer in layers.items() if name != "app"} == {cache_ref}
    assert layers["app"]["from"] is None
    assert second["warnings"] == []
    # the reused layers are the previous image's, and nothing was fetched for them
    before = layer_by_name(first)
    assert all(layers[name]["digest"] == before[name]["digest"] for name in layers if name != "app")
    assert wheel_files(empty) == []
    for name in layers:
        if name != "app":
            assert memregistry.calls("GET", layers[name]["digest"]) == [], name
    # only the app layer and the config went up (and the new image's SBOMs)
    manifest_bytes, _ = memregistry.manifest("team/app", "2")
    assert image_uploads(memregistry, "team/app", second) == {
        layers["app"]["digest"]: layers["app"]["size"],
        second["config_digest"]: json.loads(manifest_bytes)["config"]["size"],
    }
    # the image is the one a build with a warm cache gives
    warm = build_json(project, example_build.base, f"oci:{tmp_path / 'warm'}", cache=example_build.cache, env=example_build.env)
    assert second["digest"] == warm["digest"] == digest_of(manifest_bytes)
    assert {layer["status"] for layer in layer_by_name(warm).values()} <= {"cached", "built"}


def test_the_default_cache_is_the_outputs_own_image(example_build: ExampleBuild, memregistry: MemRegistry, tmp_path: Path) -> None:
    project = copy_example(tmp_path / "app")
    change_app(project, "ok;")
    target = f"docker://{memregistry.address}/team/dflt:1"
    # first push: the app layer misses the local cache, the output's image does not exist yet: silent
    first = build_json(project, example_build.base, target, cache=example_build.cache, env=example_build.env)
    assert first["warnings"] == []
    assert layer_by_name(first)["app"]["status"] == "built"
    memregistry.reset_log()

    again = build_json(project, example_build.base, target, cache=tmp_path / "fresh-cache", env=example_build.env)

    layers = layer_by_name(again)
    assert {name: layer["status"] for name, layer in layers.items()} == {
        name: "built" if name == "app" else "reused" for name in layers
    }
    assert {layer["from"] for name, layer in layers.items() if name != "app"} == {f"{memregistry.address}/team/dflt:1"}
    assert again["digest"] == first["digest"]
    assert again["warnings"] == []
    assert memregistry.uploaded_bytes() == {}  # the same image: every blob already there
    assert wheel_files(tmp_path / "fresh-cache") == []


def reseed(registry: MemRegistry, source: str, target: str, change: Any) -> str:
    """Copy ``team/<source>`` to ``team/<target>:1`` with ``change(manifest, config)`` applied."""
    repository, tag = source.split(":")
    manifest = json.loads(registry.manifest(repository, tag)[0])
    config = json.loads(registry.blobs[manifest["config"]["digest"]])
    change(manifest, config)
    config_bytes = json.dumps(config).encode()
    manifest["config"] = {**manifest["config"], "digest": digest_of(config_bytes), "size": len(config_bytes)}
    blobs = {layer["digest"]: registry.blobs[layer["digest"]] for layer in manifest["layers"]}
    registry.seed(target, "1", json.dumps(manifest).encode(), {**blobs, digest_of(config_bytes): config_bytes})
    return f"{registry.address}/{target}:1"


def build_missing_the_environment(example_build: ExampleBuild, tmp_path: Path, cache_ref: str) -> tuple[Any, dict[str, Any]]:
    """A build whose local cache has every layer but the environment's (cheap to build, no
    wheels), so the cache image is read."""
    cache = Path(shutil.copytree(example_build.cache, tmp_path / "cache", copy_function=os.link))
    environment = layer_by_name(example_build.report)["environment"]["key"]
    (record,) = [path for path in (cache / "keys").rglob("*.json") if json.loads(path.read_bytes()).get("built_for") == environment]
    record.unlink()
    args = ["build", str(example_build.project), "--base", example_build.base, "--cache-dir", str(cache), "--json",
            "--output", f"oci:{tmp_path / 'out'}", "--cache-from", cache_ref]  # fmt: skip
    result = layerplan(*args, env=example_build.env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert layer_by_name(report)["environment"]["status"] == "built"
    assert report["digest"] == example_build.report["digest"]
    return result, report


def test_a_cache_image_for_another_platform_is_not_used(example_build: ExampleBuild, memregistry: MemRegistry, tmp_path: Path) -> None:
    push_first(example_build, memregistry, tmp_path)
    ref = reseed(memregistry, "team/app:1", "team/arm", lambda manifest, config: config.update(architecture="arm64"))

    result, report = build_missing_the_environment(example_build, tmp_path, ref)

    (warning,) = report["warnings"]
    assert warning.startswith(f"cache image {ref} not used: it is for linux/arm64, this build for linux/amd64")
    assert result.stderr.count(ref) == 1


def test_an_unreachable_cache_image_is_one_warning(example_build: ExampleBuild, tmp_path: Path) -> None:
    ref = "127.0.0.1:9/team/app:1"  # the discard port: nothing listens there

    result, report = build_missing_the_environment(example_build, tmp_path, ref)

    (warning,) = report["warnings"]
    assert warning.startswith(f"cache image {ref} not used:")
    assert len([line for line in result.stderr.splitlines() if ref in line]) == 1
    assert "Traceback" not in result.stderr


def test_an_explicit_cache_image_that_does_not_exist_is_one_warning(
    example_build: ExampleBuild, memregistry: MemRegistry, tmp_path: Path
) -> None:
    ref = f"{memregistry.address}/team/none:1"

    _, report = build_missing_the_environment(example_build, tmp_path, ref)

    (warning,) = report["warnings"]
    assert warning.startswith(f"cache image {ref} not used:")


def test_an_image_without_layer_keys_is_one_warning(example_build: ExampleBuild, memregistry: MemRegistry, tmp_path: Path) -> None:
    push_first(example_build, memregistry, tmp_path)

    def strip(manifest: dict[str, Any], config: dict[str, Any]) -> None:
        for layer in manifest["layers"]:
            layer.pop("annotations", None)

    ref = reseed(memregistry, "team/app:1", "team/plain", strip)

    _, report = build_missing_the_environment(example_build, tmp_path, ref)

    assert report["warnings"] == [f"cache image {ref} not used: its layers carry no layerplan keys (not pushed by this layerplan); its layers are built instead"]


def test_a_wrong_key_is_simply_built(example_build: ExampleBuild, memregistry: MemRegistry, tmp_path: Path) -> None:
    """Keys that match nothing (or are not keys) are not reused, and need no warning
    while the image has other layerplan keys."""
    push_first(example_build, memregistry, tmp_path)

    def scramble(manifest: dict[str, Any], config: dict[str, Any]) -> None:
        annotated = [layer for layer in manifest["layers"] if "annotations" in layer]
        annotated[0]["annotations"][BUILD_KEY] = "not-a-key"
        annotated[1]["annotations"][BUILD_KEY] = "0" * 64

    ref = reseed(memregistry, "team/app:1", "team/wrong", scramble)
    project = copy_example(tmp_path / "fresh")
    report = build_json(project, example_build.base, f"oci:{tmp_path / 'out'}", cache=tmp_path / "fresh-cache",
                        env=example_build.env, extra=("--cache-from", ref))  # fmt: skip

    statuses = [layer["status"] for name, layer in layer_by_name(report).items() if name != "app"]
    assert statuses[:2] == ["built", "built"] and set(statuses[2:]) == {"reused"}
    assert report["warnings"] == []
    assert report["digest"] == example_build.report["digest"]


def test_a_file_output_gets_every_reused_blob(example_build: ExampleBuild, memregistry: MemRegistry, tmp_path: Path) -> None:
    """An OCI layout needs the bytes: each reused layer is downloaded (verified); a push
    into another repository of the same registry mounts them instead."""
    push_first(example_build, memregistry, tmp_path)
    project = copy_example(tmp_path / "fresh")
    change_app(project)
    memregistry.reset_log()

    report = build_json(
        project, example_build.base, f"oci:{tmp_path / 'out'}", f"docker://{memregistry.address}/team/other:1",
        cache=tmp_path / "fresh-cache", env=example_build.env, extra=("--cache-from", f"{memregistry.address}/team/app:1"),
    )  # fmt: skip

    layers = layer_by_name(report)
    reused = [layer for layer in layers.values() if layer["status"] == "reused"]
    assert len(reused) == len(layers) - 1
    image, _ = read_oci_layout(tmp_path / "out")  # every blob read back and checked against its digest
    check_image(image)  # and each reused layer's diff_id against its bytes
    assert image.digest == report["digest"]
    for layer in reused:
        assert len(memregistry.calls("GET", layer["digest"])) == 1  # downloaded once, for the layout
    push = next(output for output in report["outputs"] if output["kind"] == "registry")
    statuses = {blob["digest"]: blob["status"] for blob in push["blobs"]}
    assert {statuses[layer["digest"]] for layer in reused} == {"mounted"}
    assert set(image_uploads(memregistry, "team/other", report)) == {layers["app"]["digest"], report["config_digest"]}


def _fresh_runner_after_a_build(
    example_build: ExampleBuild,
    registry: MemRegistry,
    synthetic_base: SyntheticBase,
    tmp_path: Path,
    repository: str,
    extra: tuple[str, ...] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A warm build pushed to ``repository:1``, then an app change built by a fresh runner (an
    empty cache) to ``repository:2`` with ``--cache-from repository:1``; the registry's request
    log holds only the second build's requests."""
    base = seed_base(registry, synthetic_base)
    project = copy_example(tmp_path / "project")
    first = build_json(project, base, f"docker://{registry.address}/{repository}:1", cache=example_build.cache, env=example_build.env)
    change_app(project)
    registry.reset_log()
    second = build_json(
        project, base, f"docker://{registry.address}/{repository}:2", cache=tmp_path / "fresh-cache", env=example_build.env,
        extra=("--cache-from", f"{registry.address}/{repository}:1", *extra),
    )  # fmt: skip
    return first, second


def test_a_fresh_runner_reads_the_base_record_beside_the_layers(
    example_build: ExampleBuild, memregistry: MemRegistry, synthetic_base: SyntheticBase, tmp_path: Path
) -> None:
    """The base's platform record (a referrer of the cache image, test_fresh_runner.py) is
    found with the read that finds the layers: the cache image's manifest and config are
    read once, its referrers listing once (the SBOM's reused licenses use it too), then
    the record's manifest and blob -- and no base layer."""
    first, second = _fresh_runner_after_a_build(example_build, memregistry, synthetic_base, tmp_path, "team/rec")

    assert second["base"]["platform_from"] == f"cache image {memregistry.address}/team/rec:1"
    gets = [r.path for r in memregistry.calls("GET", "/v2/team/rec/")]
    record = first["outputs"][0]["platform_record"]
    record_blob = json.loads(memregistry.manifest("team/rec", record)[0])["layers"][0]["digest"]
    tag = "sha256-" + first["digest"].split(":")[1]
    assert gets.count("/v2/team/rec/manifests/1") == 1
    assert gets.count(f"/v2/team/rec/blobs/{first['config_digest']}") == 1
    assert gets.count(f"/v2/team/rec/referrers/{first['digest']}") == 1  # 404: no referrers API here
    assert gets.count(f"/v2/team/rec/manifests/{tag}") == 1
    assert gets.count(f"/v2/team/rec/manifests/{record}") == 1 and gets.count(f"/v2/team/rec/blobs/{record_blob}") == 1
    for layer in second["layers"]:
        if layer["status"] == "base":
            assert memregistry.calls("GET", layer["digest"]) == []


def test_a_registry_with_the_referrers_api_gives_the_base_record_too(
    example_build: ExampleBuild, synthetic_base: SyntheticBase, tmp_path: Path
) -> None:
    """The registry lists the referrers itself, with their annotations: one GET finds the
    record of this base, no referrers tag is read."""
    with MemRegistry(referrers_api=True) as registry:
        first, second = _fresh_runner_after_a_build(
            example_build, registry, synthetic_base, tmp_path, "team/api", extra=("--no-sbom",)
        )

        assert second["base"]["platform_from"] == f"cache image {registry.address}/team/api:1"
        assert [w for w in second["warnings"] if "not pinned" not in w] == []
        gets = [r.path for r in registry.calls("GET", "/v2/team/api/")]
        assert gets.count(f"/v2/team/api/referrers/{first['digest']}") == 1
        assert not [path for path in gets if "/manifests/sha256-" in path]
        for layer in second["layers"]:
            if layer["status"] == "base":
                assert registry.calls("GET", layer["digest"]) == []
