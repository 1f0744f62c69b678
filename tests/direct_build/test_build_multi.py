"""Multi-platform builds without an engine: the example for linux/amd64 and linux/arm64 on
a synthetic two-platform base (an index in the in-memory registry), pushed as one index
and written as OCI layouts, read back here with the standard library.

What only an engine proves (the arm64 image runs under qemu, the amd64 one natively) is
in test_build_multi_engine.py.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from memregistry import MemRegistry
from ocifiles import canonical, digest_of
from synthbase import synthetic_base_image

from tests.direct_build.helpers import build_json, copy_example, layerplan, not_progress

COMPILED_SDIST = Path(__file__).resolve().parents[1] / "fixtures" / "compiled-sdist"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
BOTH = "linux/amd64,linux/arm64"
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


def seed_multi_base(registry: MemRegistry, *, platforms: tuple[str, ...] = ("amd64", "arm64"), tag: str = "3.11-multi") -> str:
    """An index of synthetic bases, one per architecture, in ``registry``; its reference."""
    entries = []
    for arch in platforms:
        image = synthetic_base_image(architecture=arch)
        digest = registry.seed("library/python", f"3.11-{arch}", image.manifest_bytes, image.blobs())
        platform = {"architecture": arch, "os": "linux", **({"variant": "v8"} if arch == "arm64" else {})}
        entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(image.manifest_bytes), "platform": platform})
    index = canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    registry.seed("library/python", tag, index, {}, media_type=OCI_INDEX)
    return f"{registry.address}/library/python:{tag}"


def manifests_of(registry: MemRegistry, repository: str, index_digest: str) -> dict[str, dict[str, Any]]:
    """platform (``linux/arm64/v8``) -> its manifest, from the index the registry holds."""
    data, media_type = registry.manifest(repository, index_digest)
    assert media_type == OCI_INDEX and digest_of(data) == index_digest
    out = {}
    for entry in json.loads(data)["manifests"]:
        platform = "/".join(entry["platform"][k] for k in ("os", "architecture", "variant") if k in entry["platform"])
        manifest, _ = registry.manifest(repository, entry["digest"])
        out[platform] = json.loads(manifest)
    return out


@pytest.fixture(scope="module")
def shared_registry() -> Iterator[MemRegistry]:
    """One in-memory registry for the module's build and the tests that read it."""
    with MemRegistry() as registry:
        yield registry


@pytest.fixture(scope="module")
def multi_build(tmp_path_factory: pytest.TempPathFactory, shared_registry: MemRegistry) -> dict[str, Any]:
    """The example built for both platforms once: pushed, and written as oci: and oci-archive:."""
    memregistry = shared_registry
    root = tmp_path_factory.mktemp("multi")
    base = seed_multi_base(memregistry)
    project = copy_example(root / "example")
    memregistry.reset_log()
    report = build_json(
        project, base, f"docker://{memregistry.address}/multi/app:1,latest", f"oci:{root / 'oci'}", f"oci-archive:{root / 'oci.tar'}",
        cache=root / "cache", extra=("--platform", BOTH), env=EPOCH,
    )  # fmt: skip
    return {"root": root, "base": base, "report": report, "uploads": memregistry.uploaded_bytes("multi/app")}


def test_one_index_with_two_manifests_and_shared_layers(multi_build: dict[str, Any], shared_registry: MemRegistry) -> None:
    memregistry = shared_registry
    report = multi_build["report"]
    assert report["media_type"] == OCI_INDEX
    assert [p["target"] for p in report["platforms"]] == ["cpython3.11 linux/amd64 glibc-2.36", "cpython3.11 linux/arm64 glibc-2.36"]
    for tag in ("1", "latest"):  # every tag names the index
        data, _ = memregistry.manifest("multi/app", tag)
        assert digest_of(data) == report["digest"]
    # each platform's image carries its own SBOMs and provenance (referrers of its manifest)
    for platform in report["platforms"]:
        assert platform["provenance"] is not None and len(platform["sbom"]) == 2
    manifests = manifests_of(memregistry, "multi/app", report["digest"])
    assert sorted(manifests) == ["linux/amd64", "linux/arm64/v8"]
    # each platform's own base underneath, then the same plan's layers
    amd64, arm64 = (
        {layer["name"]: layer["digest"] for layer in platform["layers"] if layer["status"] != "base"}
        for platform in report["platforms"]
    )
    assert list(amd64) == list(arm64)
    shared = report["shared_layers"]
    assert {"environment", "local", "app"} <= set(shared)
    assert "dep-numpy" not in shared and "deps-3-of-4" not in shared  # numpy and pydantic-core are binary wheels
    for name in amd64:
        assert (amd64[name] == arm64[name]) == (name in shared), name
    # in the registry's manifests too
    for name in shared:
        assert amd64[name] in [layer["digest"] for layer in manifests["linux/arm64/v8"]["layers"]]


def test_shared_layers_are_built_and_uploaded_once(multi_build: dict[str, Any]) -> None:
    report = multi_build["report"]
    second = {layer["name"]: layer["status"] for layer in report["platforms"][1]["layers"]}
    for name in report["shared_layers"]:
        assert second[name] == "cached", name  # the first platform built it, in this build
    assert second["dep-numpy"] == "built"
    # every blob was sent once, whole: none twice
    pushed = report["outputs"][0]["blobs"]
    assert len({b["digest"] for b in pushed}) == len(pushed)
    layer_size = {layer["digest"]: layer["size"] for p in report["platforms"] for layer in p["layers"]}
    for digest, received in multi_build["uploads"].items():
        if digest in layer_size:
            assert received == layer_size[digest], digest


def test_oci_layout_and_archive_hold_the_index(multi_build: dict[str, Any]) -> None:
    root, digest = multi_build["root"], multi_build["report"]["digest"]
    index = json.loads((root / "oci" / "index.json").read_bytes())
    (entry,) = index["manifests"]
    assert (entry["mediaType"], entry["digest"]) == (OCI_INDEX, digest)
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "layerplan-example:0.1.0"
    nested = json.loads((root / "oci" / "blobs" / "sha256" / digest.split(":")[1]).read_bytes())
    assert len(nested["manifests"]) == 2
    for manifest in nested["manifests"]:
        assert (root / "oci" / "blobs" / "sha256" / manifest["digest"].split(":")[1]).is_file()
    with tarfile.open(root / "oci.tar") as tar:
        assert json.loads(tar.extractfile("index.json").read())["manifests"][0]["digest"] == digest  # type: ignore[union-attr]
    # each platform's SBOMs beside the output, named after it
    assert (root / "oci.linux-arm64-v8.sbom.spdx.json").is_file() and (root / "oci.linux-amd64.sbom.cdx.json").is_file()


def test_layerplan_reads_each_platform_back_from_the_layout(multi_build: dict[str, Any], tmp_path: Path) -> None:
    """The layout is a multi-platform base in its turn: `plan --base oci:DIR` picks each platform."""
    root = multi_build["root"]
    result = layerplan(
        "plan", str(root / "example"), "--base", f"oci:{root / 'oci'}", "--platform", BOTH, "--json",
        "--cache-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "layerplan.plan-index/1"
    assert [p["target"]["platform"] for p in document["platforms"]] == ["linux/amd64", "linux/arm64"]


def test_two_builds_give_the_same_index(multi_build: dict[str, Any], tmp_path: Path) -> None:
    """Another checkout, an empty cache: the same index digest, byte for byte."""
    project = copy_example(tmp_path / "elsewhere" / "example")
    again = build_json(
        project, multi_build["base"], f"oci:{tmp_path / 'oci'}", cache=tmp_path / "cache", extra=("--platform", BOTH), env=EPOCH
    )
    assert again["digest"] == multi_build["report"]["digest"]
    assert [p["digest"] for p in again["platforms"]] == [p["digest"] for p in multi_build["report"]["platforms"]]


def one_error(result: Any) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    said = not_progress(result.stderr)
    assert said.count("\n") == 1 and said.startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    return said


def test_a_platform_the_base_lacks_is_one_line_naming_it(memregistry: MemRegistry, tmp_path: Path) -> None:
    base = seed_multi_base(memregistry, platforms=("amd64",), tag="3.11-amd64-only")
    project = copy_example(tmp_path / "example")
    said = one_error(
        layerplan(
            "build", str(project), "--base", base, "--platform", BOTH, "--output", f"oci:{tmp_path / 'oci'}",
            "--cache-dir", str(tmp_path / "cache"),
        )  # fmt: skip
    )
    assert "has no linux/arm64 variant (it has: linux/amd64)" in said
    assert not (tmp_path / "oci").exists()


def test_a_package_without_a_wheel_for_one_platform_is_one_line_naming_it(memregistry: MemRegistry, tmp_path: Path) -> None:
    """pydantic-core with its aarch64 wheels and its sdist taken out of the lock."""
    base = seed_multi_base(memregistry)
    project = copy_example(tmp_path / "example")
    lock = project / "uv.lock"
    sections = lock.read_text().split("\n[[package]]\n")
    for number, section in enumerate(sections):
        if section.startswith('name = "pydantic-core"\n'):
            sections[number] = "\n".join(
                line for line in section.splitlines() if "aarch64" not in line and not line.startswith("sdist = ")
            )
    lock.write_text("\n[[package]]\n".join(sections))
    said = one_error(
        layerplan(
            "build", str(project), "--base", base, "--platform", BOTH, "--output", f"oci:{tmp_path / 'oci'}",
            "--cache-dir", str(tmp_path / "cache"),
        )  # fmt: skip
    )
    assert "no wheel for cpython3.11 linux/arm64 glibc-2.36: pydantic-core 2.50.2" in said


def test_a_docker_archive_cannot_hold_several_platforms(memregistry: MemRegistry, tmp_path: Path) -> None:
    base = seed_multi_base(memregistry)
    project = copy_example(tmp_path / "example")
    said = one_error(
        layerplan(
            "build", str(project), "--base", base, "--platform", BOTH, "--output", f"docker-archive:{tmp_path / 'a.tar'}",
            "--cache-dir", str(tmp_path / "cache"),
        )  # fmt: skip
    )
    assert "a docker-archive holds one platform's image, and linux/amd64, linux/arm64 were asked for" in said
    assert not (tmp_path / "a.tar").exists()


def test_an_sdist_that_needs_compiling_for_another_architecture_is_refused(tmp_path: Path) -> None:
    """Compiling netifaces for arm64 would run an arm64 builder container under emulation:
    the build says so in one line instead."""
    from ocifiles import write_oci_layout

    base = write_oci_layout(synthetic_base_image(architecture="arm64"), tmp_path / "arm64-base")
    project = Path(shutil.copytree(COMPILED_SDIST, tmp_path / "app", ignore=shutil.ignore_patterns("regenerate.sh")))
    said = one_error(
        layerplan(
            "build", str(project), "--base", f"oci:{base}", "--platform", "linux/arm64", "--builder", "python:3.11-bookworm",
            "--output", f"oci:{tmp_path / 'image'}", "--cache-dir", str(tmp_path / "cache"),
        )  # fmt: skip
    )
    assert "netifaces 0.11.0" in said and "for linux/arm64: this linux/amd64 machine would have to run a linux/arm64 builder container" in said
    assert not (tmp_path / "image").exists()


def test_a_fresh_runner_takes_each_platforms_base_record_from_the_cache_index(
    multi_build: dict[str, Any], shared_registry: MemRegistry, tmp_path: Path
) -> None:
    """One platform record per platform, each a referrer of that platform's image: a fresh
    runner reading the previous index downloads neither base."""
    memregistry = shared_registry
    fresh = tmp_path / "fresh-cache"
    report = build_json(
        multi_build["root"] / "example", multi_build["base"], f"docker://{memregistry.address}/multi/again:1", cache=fresh,
        extra=("--platform", BOTH, "--cache-from", f"{memregistry.address}/multi/app:1"), env=EPOCH,
    )  # fmt: skip
    assert report["digest"] == multi_build["report"]["digest"]
    assert [p["base"]["platform_from"] for p in report["platforms"]] == [f"cache image {memregistry.address}/multi/app:1"] * 2
    kept = {path.name for path in (fresh / "blobs" / "sha256").iterdir()} if (fresh / "blobs").exists() else set()
    for platform in report["platforms"]:
        for layer in platform["layers"]:
            if layer["status"] == "base":
                assert layer["digest"].split(":")[1] not in kept
    # each record names its own base, by digest and platform
    records = {}
    for platform in multi_build["report"]["platforms"]:
        index = json.loads(memregistry.manifest("multi/app", "sha256-" + platform["digest"].split(":")[1])[0])
        (entry,) = [e for e in index["manifests"] if e["artifactType"] == "application/vnd.layerplan.base-platform.v1+json"]
        records[entry["annotations"]["dev.layerplan.base.platform"]] = entry["annotations"]["dev.layerplan.base.digest"]
    assert records == {"linux/amd64": multi_build["report"]["platforms"][0]["base"]["digest"],
                       "linux/arm64/v8": multi_build["report"]["platforms"][1]["base"]["digest"]}  # fmt: skip



def test_a_no_change_rebuild_leaves_the_multi_platform_archive_alone(multi_build: dict[str, Any], tmp_path: Path) -> None:
    """The same build again into the same file: the oci-archive of the index and the
    documents beside it are not written again (same inode, same mtime): ``unchanged``."""
    project = copy_example(tmp_path / "example")
    archive = tmp_path / "oci.tar"
    args = (project, multi_build["base"], f"oci-archive:{archive}")
    first = build_json(*args, cache=tmp_path / "cache", extra=("--platform", BOTH), env=EPOCH)
    beside = sorted(tmp_path.glob("oci.tar.*"))
    before = {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in [archive, *beside]}
    again = build_json(*args, cache=tmp_path / "cache", extra=("--platform", BOTH), env=EPOCH)
    assert again["digest"] == first["digest"] == multi_build["report"]["digest"]
    assert [o["status"] for o in first["outputs"]] == ["written"] and [o["status"] for o in again["outputs"]] == ["unchanged"]
    assert len(beside) == 6 and sorted(tmp_path.glob("oci.tar.*")) == beside  # 3 documents per platform
    assert {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in [archive, *beside]} == before


def test_a_rebuild_asks_the_registry_for_the_base_tag_alone(memregistry: MemRegistry, tmp_path: Path) -> None:
    """What a pull reads by digest (the platform's manifest, the config) never changes: the
    second build reads them from its cache and asks the registry for the base's tag only."""
    base = seed_multi_base(memregistry, tag="3.11-by-digest")
    project = copy_example(tmp_path / "example")
    args = (project, base, f"oci:{tmp_path / 'oci'}")
    first = build_json(*args, cache=tmp_path / "cache", env=EPOCH)
    asked = [c.path.rsplit("/", 2)[-2] for c in memregistry.calls("GET", path="^/v2/library/python/")]
    assert asked[:3] == ["manifests", "manifests", "blobs"]  # the tag, the platform's manifest, the config (then the scan)
    memregistry.reset_log()
    again = build_json(*args, cache=tmp_path / "cache", env=EPOCH)
    assert again["digest"] == first["digest"]
    assert [(c.method, c.path) for c in memregistry.calls(path="^/v2/library/python/")] == [
        ("GET", "/v2/library/python/manifests/3.11-by-digest")
    ]
