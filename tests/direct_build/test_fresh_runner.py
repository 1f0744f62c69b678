"""A fresh CI runner (empty local cache) takes the base's platform record from its cache
image instead of downloading and scanning the base, on the real registry (distribution
2.8: the referrers tag).

Each pushed image carries the record of its base (Python, libc, symlinks: what a scan of
the base's layers finds) as an OCI referrer keyed by the base's digest. The base is the
synthetic one (a real push of it to the registry), so the example's layers come from the
session's cache and each build is a push and little else.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from ocifiles import ImageFiles, canonical, digest_of
from synthbase import synthetic_base_image

from tests.direct_build.conftest import ExampleBuild
from tests.direct_build.helpers import build_json, copy_example, layer_by_name, layerplan

pytestmark = pytest.mark.engine

RECORD = "application/vnd.layerplan.base-platform.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def put_blob(registry: str, repository: str, data: bytes) -> str:
    digest = digest_of(data)
    started = requests.post(f"http://{registry}/v2/{repository}/blobs/uploads/", timeout=30)
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    location = location if location.startswith("http") else f"http://{registry}{location}"
    sep = "&" if "?" in location else "?"
    done = requests.put(f"{location}{sep}digest={digest}", data=data, headers={"Content-Type": "application/octet-stream"}, timeout=30)
    assert done.status_code == 201, done.text
    return digest


def put_manifest(registry: str, repository: str, reference: str, data: bytes, media_type: str = OCI_MANIFEST) -> str:
    answer = requests.put(f"http://{registry}/v2/{repository}/manifests/{reference}", data=data, headers={"Content-Type": media_type}, timeout=30)
    assert answer.status_code == 201, answer.text
    return digest_of(data)


def get_manifest(registry: str, repository: str, reference: str, media_type: str = OCI_MANIFEST) -> dict[str, Any]:
    answer = requests.get(f"http://{registry}/v2/{repository}/manifests/{reference}", headers={"Accept": media_type}, timeout=30)
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def push_base(registry: str, repository: str, image: ImageFiles) -> str:
    """The synthetic base in the real registry; its reference."""
    for data in image.blobs().values():
        put_blob(registry, repository, data)
    put_manifest(registry, repository, "3.11", image.manifest_bytes)
    return f"{registry}/{repository}:3.11"


def other_base() -> ImageFiles:
    """The synthetic base with another config (so another digest), running the same."""
    image = synthetic_base_image()
    config_bytes = canonical({**image.config, "created": "2026-11-02T00:00:00Z"})
    manifest = image.manifest
    manifest["config"] = {**manifest["config"], "digest": digest_of(config_bytes), "size": len(config_bytes)}
    return ImageFiles(manifest_bytes=canonical(manifest), config_bytes=config_bytes, layers=list(image.layers))


def change_app(project: Path) -> None:
    cli = project / "src" / "layerplan_example" / "cli.py"
    cli.write_text(cli.read_text().replace("ok:", "ok,"))


def warm_cache(example_build: ExampleBuild, tmp_path: Path) -> Path:
    """The session's cache (every layer of the example), hard-linked: a warm runner."""
    return Path(shutil.copytree(example_build.cache, tmp_path / "warm-cache", copy_function=os.link))


def blobs_in(cache: Path) -> set[str]:
    folder = cache / "blobs" / "sha256"
    return {f"sha256:{path.name}" for path in folder.iterdir()} if folder.is_dir() else set()


def base_digests(report: dict[str, Any]) -> set[str]:
    return {layer["digest"] for layer in report["layers"] if layer["status"] == "base"}


def record_warnings(report: dict[str, Any]) -> list[str]:
    return [w for w in report["warnings"] if "platform record" in w]


@pytest.fixture
def pushed(example_build: ExampleBuild, registry: str, tmp_path: Path) -> dict[str, Any]:
    """The example pushed to a repository of its own on the real registry, on the synthetic
    base pushed there too (a warm runner's build): the previous image of a fresh runner."""
    repository = f"freshrunner-test/{uuid.uuid4().hex[:12]}"
    base = push_base(registry, f"{repository}/python", synthetic_base_image())
    project = copy_example(tmp_path / "project")
    cache = warm_cache(example_build, tmp_path)
    first = build_json(project, base, f"docker://{registry}/{repository}/app:1", cache=cache, env=example_build.env)
    return {"repository": repository, "base": base, "project": project, "cache": cache, "report": first,
            "ref": f"{registry}/{repository}/app:1"}  # fmt: skip


def test_the_pushed_image_carries_its_base_platform_record(pushed: dict[str, Any], registry: str) -> None:
    report, repository = pushed["report"], pushed["repository"]
    (output,) = report["outputs"]
    index = get_manifest(registry, f"{repository}/app", "sha256-" + report["digest"].split(":")[1], OCI_INDEX)
    (entry,) = [e for e in index["manifests"] if e["artifactType"] == RECORD]
    assert entry["digest"] == output["platform_record"]
    assert entry["annotations"]["dev.layerplan.base.digest"] == report["base"]["digest"]
    assert entry["annotations"]["dev.layerplan.base.platform"] == "linux/amd64"
    manifest = get_manifest(registry, f"{repository}/app", entry["digest"])
    assert manifest["subject"]["digest"] == report["digest"]
    (layer,) = manifest["layers"]
    blob = requests.get(f"http://{registry}/v2/{repository}/app/blobs/{layer['digest']}", timeout=30).content
    record = json.loads(blob)
    assert record["format"] == "layerplan.base-platform/1" and record["base"] == report["base"]["digest"]
    assert record["platform"]["python_version"] == "3.11.2" and record["symlinks"]["/bin"] == "usr/bin"
    # not an SBOM: the report counts the SBOMs as before
    assert len(report["sbom"]) == 2 and output["platform_record"] not in output["sboms"]


def test_a_fresh_runner_takes_the_platform_from_the_cache_image(
    example_build: ExampleBuild, pushed: dict[str, Any], registry: str, tmp_path: Path
) -> None:
    project = pushed["project"]
    change_app(project)
    fresh = tmp_path / "fresh-cache"

    second = build_json(
        project, pushed["base"], f"docker://{registry}/{pushed['repository']}/app:2", cache=fresh, env=example_build.env,
        extra=("--cache-from", pushed["ref"], "--no-sbom", "--no-provenance"),
    )  # fmt: skip

    assert second["base"]["platform_from"] == f"cache image {pushed['ref']}"
    assert record_warnings(second) == []
    # no base layer was downloaded (nor any other but what was built: the app)
    assert base_digests(second) and not base_digests(second) & blobs_in(fresh)
    assert {name: layer["status"] for name, layer in layer_by_name(second).items()} == {
        name: "built" if name == "app" else "reused" for name in layer_by_name(second)
    }
    # the record is kept in the local cache: the next build needs no registry for it
    assert (fresh / "platforms" / f"{second['base']['digest'].split(':')[1]}.json").is_file()
    # the image is the one a warm runner builds (its cache scanned the base long ago)
    warm = build_json(project, pushed["base"], f"oci:{tmp_path / 'warm'}", cache=pushed["cache"], env=example_build.env)
    assert warm["base"]["platform_from"] == "local cache"
    assert second["digest"] == warm["digest"]
    # --no-sbom/--no-provenance attach no SBOM, and still the record: the next runner needs it
    (output,) = second["outputs"]
    assert output["sboms"] == [] and output["provenance"] is None and output["platform_record"]


def test_a_record_of_another_base_is_not_used(
    example_build: ExampleBuild, pushed: dict[str, Any], registry: str, tmp_path: Path
) -> None:
    """The base moved on (a new patch release under the same tag): the previous image's
    record is about the old base, so the new base is scanned, silently."""
    other = push_base(registry, f"{pushed['repository']}/other", other_base())
    fresh = tmp_path / "fresh-cache"

    report = build_json(
        pushed["project"], other, f"oci:{tmp_path / 'out'}", cache=fresh, env=example_build.env,
        extra=("--cache-from", pushed["ref"]),
    )  # fmt: skip

    assert report["base"]["digest"] != pushed["report"]["base"]["digest"]
    assert report["base"]["platform_from"] == "scanned"
    assert record_warnings(report) == []
    assert base_digests(report) <= blobs_in(fresh)  # scanned: its layers were read


def replace_record(registry: str, repository: str, image_digest: str, base_digest: str, data: bytes) -> None:
    """Attach ``data`` as the platform record of ``image_digest`` in place of the one the
    push attached (what a tampered or older layerplan's record looks like)."""
    blob = put_blob(registry, repository, data)
    empty = put_blob(registry, repository, b"{}")
    manifest = canonical({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": RECORD,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": RECORD, "digest": blob, "size": len(data)}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": image_digest, "size": 1},
        "annotations": {"dev.layerplan.base.digest": base_digest, "dev.layerplan.base.platform": "linux/amd64"},
    })  # fmt: skip
    digest = put_manifest(registry, repository, digest_of(manifest), manifest)
    tag = "sha256-" + image_digest.split(":")[1]
    index = get_manifest(registry, repository, tag, OCI_INDEX)
    entries = [e for e in index["manifests"] if e["artifactType"] != RECORD]
    entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(manifest), "artifactType": RECORD,
                    "annotations": {"dev.layerplan.base.digest": base_digest, "dev.layerplan.base.platform": "linux/amd64"}})  # fmt: skip
    put_manifest(registry, repository, tag, canonical({**index, "manifests": entries}), OCI_INDEX)


@pytest.mark.parametrize(
    ("record", "why"),
    [
        (b"{not json", "not JSON"),
        (b'{"format": "layerplan.base-platform/99", "base": "x", "platform": {}, "symlinks": {}}', "unknown format"),
    ],
)
def test_a_corrupted_record_is_one_warning_and_a_correct_build(
    example_build: ExampleBuild, pushed: dict[str, Any], registry: str, tmp_path: Path, record: bytes, why: str
) -> None:
    first = pushed["report"]
    replace_record(registry, f"{pushed['repository']}/app", first["digest"], first["base"]["digest"], record)
    fresh = tmp_path / "fresh-cache"

    result = layerplan(
        "build", str(pushed["project"]), "--base", pushed["base"], "--cache-dir", str(fresh), "--json",
        "--output", f"oci:{tmp_path / 'out'}", "--cache-from", pushed["ref"], env=example_build.env,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    (warning,) = record_warnings(report)
    assert warning.startswith(f"platform record of base {first['base']['digest'].split(':')[1][:12]} ")
    assert f"in cache image {pushed['ref']} not used: {why}" in warning and warning.endswith("the base's layers are scanned instead")
    assert len([line for line in result.stderr.splitlines() if "platform record" in line]) == 1
    assert report["base"]["platform_from"] == "scanned"
    assert report["digest"] == first["digest"]  # the same image: the scan found what the record should have said
