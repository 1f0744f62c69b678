"""`layerplan build` attaches an SLSA provenance (an in-toto Statement v1) the way it
attaches its SBOMs: beside a file output, and as an OCI 1.1 referrer in a registry --
found from the image's digest through the referrers tag, and valid for the in-toto
attestation framework's own bindings. Engine-free: the example on the synthetic base."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from memregistry import MemRegistry

from tests.direct_build.conftest import ExampleBuild
from tests.direct_build.helpers import build_json, layer_by_name
from tests.provenance.validate import assert_valid_provenance

INTOTO = "application/vnd.in-toto+json"


def beside(output: Path) -> Path:
    return Path(f"{output}.provenance.intoto.json")


def dependencies(statement: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in statement["predicate"]["buildDefinition"]["resolvedDependencies"]}


def test_a_file_output_gets_the_provenance_beside_it(example_build: ExampleBuild) -> None:
    report = example_build.report
    statement = assert_valid_provenance(beside(example_build.output).read_bytes())
    assert report["provenance"]["artifact_type"] == INTOTO
    (output,) = report["outputs"]
    assert output["provenance"] == str(beside(example_build.output))
    assert {"artifact_type": INTOTO, "location": str(beside(example_build.output))} in output["attached"]
    assert statement["subject"] == [{"name": "layerplan-example", "digest": {"sha256": report["digest"].split(":")[1]}}]
    definition = statement["predicate"]["buildDefinition"]
    assert definition["buildType"] == "urn:layerplan:buildtype:direct:v1"
    assert definition["externalParameters"]["platform"] == report["target"]
    assert definition["externalParameters"]["base"] == example_build.base
    assert definition["externalParameters"]["outputs"] == [f"oci:{example_build.output}"]
    assert definition["internalParameters"]["sourceDateEpoch"] == 1700000000
    found = dependencies(statement)
    lock = (example_build.project / "uv.lock").read_bytes()
    assert found["uv.lock"]["digest"] == {"sha256": hashlib.sha256(lock).hexdigest()}
    assert found[example_build.base]["digest"] == {"sha256": report["base"]["digest"].split(":")[1]}
    numpy = next(d for d in found.values() if d.get("annotations", {}).get("package") == "numpy")
    assert numpy["uri"].startswith("https://files.pythonhosted.org/") and numpy["digest"]["sha256"] in lock.decode()
    assert numpy["annotations"]["layer"] in layer_by_name(report)
    assert "startedOn" not in json.dumps(statement) and "invocationId" not in json.dumps(statement)


def test_the_same_build_gives_the_same_provenance_and_no_provenance_attaches_none(
    example_build: ExampleBuild, tmp_path: Path
) -> None:
    again = build_json(example_build.project, example_build.base, f"oci:{tmp_path / 'oci'}", cache=example_build.cache, env=example_build.env)
    assert again["digest"] == example_build.report["digest"]
    statement = json.loads(beside(tmp_path / "oci").read_bytes())
    original = json.loads(beside(example_build.output).read_bytes())
    # the one difference: where it was written (an output outside the project is named as given)
    assert statement["predicate"]["buildDefinition"]["externalParameters"]["outputs"] == [f"oci:{tmp_path / 'oci'}"]
    statement["predicate"]["buildDefinition"]["externalParameters"]["outputs"] = [f"oci:{example_build.output}"]
    assert statement == original

    off = build_json(
        example_build.project, example_build.base, f"oci:{tmp_path / 'off'}", cache=example_build.cache,
        extra=("--no-provenance",), env=example_build.env,
    )  # fmt: skip
    assert off["provenance"] is None and off["outputs"][0]["provenance"] is None and off["sbom"]
    assert not beside(tmp_path / "off").exists()
    project = example_build.project
    text = (project / "pyproject.toml").read_text()
    try:
        (project / "pyproject.toml").write_text(text.replace("[tool.layerplan]", "[tool.layerplan]\nprovenance = false", 1))
        off = build_json(project, example_build.base, f"oci:{tmp_path / 'off2'}", cache=example_build.cache, env=example_build.env)
    finally:
        (project / "pyproject.toml").write_text(text)
    assert off["provenance"] is None and not beside(tmp_path / "off2").exists()


def test_the_provenance_is_found_from_the_digest_through_the_referrers_tag(
    example_build: ExampleBuild, memregistry: MemRegistry
) -> None:
    """What `cosign tree` / `oras discover` do on a registry without the referrers API:
    the tag sha256-<hex of the image digest> lists the artifacts; the in-toto one is the
    provenance, its one layer the statement about that digest."""
    report = build_json(
        example_build.project, example_build.base, f"docker://{memregistry.address}/team/prov:1",
        cache=example_build.cache, env=example_build.env,
    )  # fmt: skip
    digest = report["digest"]
    index = json.loads(memregistry.manifest("team/prov", "sha256-" + digest.split(":")[1])[0])
    (entry,) = [e for e in index["manifests"] if e["artifactType"] == INTOTO]
    assert entry["digest"] == report["provenance"]["digest"] == report["outputs"][0]["provenance"]
    manifest = json.loads(memregistry.manifest("team/prov", entry["digest"])[0])
    assert manifest["subject"]["digest"] == digest and manifest["artifactType"] == INTOTO
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == INTOTO
    statement = assert_valid_provenance(memregistry.blobs[layer["digest"]])
    assert statement["subject"][0]["digest"]["sha256"] == digest.split(":")[1]
    assert statement["predicate"]["buildDefinition"]["externalParameters"]["outputs"] == [
        f"docker://{memregistry.address}/team/prov:1"
    ]
    assert statement["predicate"]["buildDefinition"]["internalParameters"]["created"]["from"] == "SOURCE_DATE_EPOCH"
