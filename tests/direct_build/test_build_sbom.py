"""`layerplan build` attaches its SBOMs to the image: beside a file output, and in a
registry as OCI 1.1 referrers (or the referrers tag where the registry has no referrers
API). Engine-free but the last: the example on the synthetic base."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from memregistry import MemRegistry
from synthbase import SyntheticBase

from tests.direct_build.conftest import ExampleBuild
from tests.direct_build.helpers import build_json, layer_by_name
from tests.direct_build.test_build_registry import push, seed_base
from tests.sbom.validate import assert_valid_cyclonedx, assert_valid_spdx

CDX, SPDX = "application/vnd.cyclonedx+json", "application/spdx+json"
INTOTO = "application/vnd.in-toto+json"  # the provenance, attached the same way (test_build_provenance.py)
PLATFORM = "application/vnd.layerplan.base-platform.v1+json"  # the base's platform record, for fresh runners (test_fresh_runner.py)


def beside(output: Path) -> dict[str, bytes]:
    """The SBOM files written beside a file output, by suffix."""
    return {suffix: Path(f"{output}.{suffix}").read_bytes() for suffix in ("sbom.cdx.json", "sbom.spdx.json") if Path(f"{output}.{suffix}").exists()}


def test_file_outputs_get_both_sboms_beside_them(example_build: ExampleBuild, tmp_path: Path) -> None:
    report = example_build.report
    files = beside(example_build.output)
    assert sorted(files) == ["sbom.cdx.json", "sbom.spdx.json"]
    assert {s["artifact_type"] for s in report["sbom"]} == {CDX, SPDX}
    (output,) = report["outputs"]
    assert output["sbom_via"] == "files"
    assert output["sboms"] == [f"{example_build.output}.sbom.cdx.json", f"{example_build.output}.sbom.spdx.json"]
    # the layout itself still holds one image: skopeo copy oci:DIR needs no :REF
    index = json.loads((example_build.output / "index.json").read_bytes())
    assert len(index["manifests"]) == 1

    assert_valid_cyclonedx(files["sbom.cdx.json"])
    assert_valid_spdx(files["sbom.spdx.json"], tmp_path)
    bom = json.loads(files["sbom.cdx.json"])
    assert {"name": "layerplan:image:digest", "value": report["digest"]} in bom["metadata"]["component"]["properties"]
    layers = layer_by_name(report)
    by_name = {c["name"]: c for c in bom["components"]}
    numpy = by_name["numpy"]
    props = {p["name"]: p["value"] for p in numpy["properties"]}
    assert props["layerplan:layer:digest"] == layers[props["layerplan:layer"]]["digest"]
    assert numpy["purl"].startswith("pkg:pypi/numpy@") and len(numpy["hashes"][0]["content"]) == 64
    assert "licenses" in numpy, "numpy's METADATA names its license"
    assert bom["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"  # SOURCE_DATE_EPOCH
    base = next(c for c in bom["components"] if c["type"] == "container")
    assert base["version"] == report["base"]["digest"]


def test_the_same_build_gives_the_same_sbom_bytes(example_build: ExampleBuild, tmp_path: Path) -> None:
    again = build_json(
        example_build.project, example_build.base, f"oci:{tmp_path / 'oci'}", f"oci-archive:{tmp_path / 'image.tar'}",
        cache=example_build.cache, env=example_build.env,
    )  # fmt: skip
    assert again["digest"] == example_build.report["digest"]
    assert again["sbom"] == example_build.report["sbom"]
    assert beside(tmp_path / "oci") == beside(example_build.output) == beside(tmp_path / "image.tar")
    assert len(beside(tmp_path / "oci")) == 2


def test_no_sbom_attaches_nothing(example_build: ExampleBuild, tmp_path: Path) -> None:
    report = build_json(
        example_build.project, example_build.base, f"oci:{tmp_path / 'oci'}", cache=example_build.cache,
        extra=("--no-sbom",), env=example_build.env,
    )  # fmt: skip
    assert report["sbom"] == [] and report["outputs"][0]["sbom_via"] is None
    assert beside(tmp_path / "oci") == {}
    project = example_build.project
    text = (project / "pyproject.toml").read_text()
    try:
        (project / "pyproject.toml").write_text(text.replace("[tool.layerplan]", "[tool.layerplan]\nsbom = false", 1))
        report = build_json(project, example_build.base, f"oci:{tmp_path / 'off'}", cache=example_build.cache, env=example_build.env)
    finally:
        (project / "pyproject.toml").write_text(text)
    assert report["sbom"] == [] and beside(tmp_path / "off") == {}


def referrer_manifests(registry: MemRegistry, repository: str, index: dict[str, Any], subject: str) -> dict[str, dict[str, Any]]:
    found = {}
    for entry in index["manifests"]:
        data, _ = registry.manifest(repository, entry["digest"])
        manifest = json.loads(data)
        assert manifest["subject"]["digest"] == subject
        assert registry.has_blob(repository, manifest["layers"][0]["digest"])
        found[entry["artifactType"]] = manifest
    return found


def test_a_registry_without_the_referrers_api_gets_the_referrers_tag(
    example_build: ExampleBuild, memregistry: MemRegistry, synthetic_base: SyntheticBase
) -> None:
    base = seed_base(memregistry, synthetic_base)
    for _ in range(2):  # a second push merges into the tag: still one entry per SBOM
        result = push(example_build, base, f"{memregistry.address}/team/app:1")
        assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    digest = report["digest"]
    (output,) = report["outputs"]
    tag = "sha256-" + digest.split(":")[1]
    assert output["sbom_via"] == f"tag {tag}"
    data, media_type = memregistry.manifest("team/app", tag)
    assert media_type == "application/vnd.oci.image.index.v1+json"
    index = json.loads(data)
    assert sorted(referrer_manifests(memregistry, "team/app", index, digest)) == sorted([CDX, SPDX, INTOTO, PLATFORM])
    assert len(index["manifests"]) == 4


def test_a_registry_with_the_referrers_api_indexes_them_itself(example_build: ExampleBuild, synthetic_base: SyntheticBase) -> None:
    with MemRegistry(referrers_api=True) as registry:
        base = seed_base(registry, synthetic_base)
        result = push(example_build, base, f"{registry.address}/team/app:1")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["outputs"][0]["sbom_via"] == "referrers API"
        answer = requests.get(f"http://{registry.address}/v2/team/app/referrers/{report['digest']}", timeout=10)
        assert answer.status_code == 200
        index = answer.json()
        assert sorted(referrer_manifests(registry, "team/app", index, report["digest"])) == sorted([CDX, SPDX, INTOTO, PLATFORM])
        assert "sha256-" + report["digest"].split(":")[1] not in registry.repos["team/app"].tags


@pytest.mark.engine
def test_the_distribution_registry_gets_the_referrers_tag(
    example_build: ExampleBuild, synthetic_base: SyntheticBase, registry: str
) -> None:
    """distribution 2.8 (the test registry) has no referrers API: it stores the artifact
    manifests with their ``subject`` as they are, and the tag lists them."""
    repository = f"layerplan-test/sbom-{uuid.uuid4().hex[:12]}"
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{synthetic_base.layout}:latest",
         f"docker://{registry}/{repository}/python:3.11"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    report = build_json(
        example_build.project, f"{registry}/{repository}/python:3.11", f"docker://{registry}/{repository}/app:1",
        cache=example_build.cache, env=example_build.env,
    )  # fmt: skip
    tag = "sha256-" + report["digest"].split(":")[1]
    assert report["outputs"][0]["sbom_via"] == f"tag {tag}"
    index = requests.get(
        f"http://{registry}/v2/{repository}/app/manifests/{tag}", headers={"Accept": "application/vnd.oci.image.index.v1+json"}, timeout=30
    ).json()
    attached = {s["digest"] for s in [*report["sbom"], report["provenance"]]} | {report["outputs"][0]["platform_record"]}
    assert {e["digest"] for e in index["manifests"]} == attached
    for entry in index["manifests"]:
        manifest = requests.get(
            f"http://{registry}/v2/{repository}/app/manifests/{entry['digest']}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}, timeout=30,
        ).json()  # fmt: skip
        assert manifest["subject"]["digest"] == report["digest"] and manifest["artifactType"] == entry["artifactType"]


def test_a_fresh_runner_states_the_licenses_of_reused_layers(
    example_build: ExampleBuild, memregistry: MemRegistry, synthetic_base: SyntheticBase, tmp_path: Path
) -> None:
    """Layers reused from a cache image are never downloaded; their packages' licenses
    come from that image's own SBOM, so the SBOM is the one the cold build wrote."""
    first = build_json(
        example_build.project, example_build.base, f"docker://{memregistry.address}/team/lic:1", cache=example_build.cache,
        env=example_build.env,
    )  # fmt: skip
    again = build_json(
        example_build.project, example_build.base, f"docker://{memregistry.address}/team/lic:1",
        cache=tmp_path / "fresh-cache", env=example_build.env,
    )  # fmt: skip
    assert {layer["status"] for name, layer in layer_by_name(again).items() if name != "app"} == {"reused"}
    assert again["digest"] == first["digest"] and again["sbom"] == first["sbom"]
    cdx = next(s for s in again["sbom"] if s["artifact_type"] == CDX)
    manifest = json.loads(memregistry.manifest("team/lic", cdx["digest"])[0])
    bom = json.loads(memregistry.blobs[manifest["layers"][0]["digest"]])
    assert "licenses" in {c["name"]: c for c in bom["components"]}["numpy"]


def test_the_licenses_are_the_same_read_from_the_wheels_or_from_the_layers(example_build: ExampleBuild, tmp_path: Path) -> None:
    """A warm build reads a license from the cached wheel's METADATA; without the wheels
    it reads the installed copy in the layer: the same file, the same SBOM."""
    cache = tmp_path / "cache"
    shutil.copytree(example_build.cache, cache, copy_function=os.link, ignore=shutil.ignore_patterns("wheels", "locations"))
    report = build_json(example_build.project, example_build.base, f"oci:{tmp_path / 'oci'}", cache=cache, env=example_build.env)
    assert {layer["status"] for layer in layer_by_name(report).values()} == {"cached"}
    assert not (cache / "wheels").exists() or not any((cache / "wheels").iterdir())
    assert beside(tmp_path / "oci") == beside(example_build.output)
