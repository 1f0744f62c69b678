"""The SBOM documents: valid per each format's own library, with what the issue asks for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from layerplan.lockfiles.model import LockedFile, Source
from layerplan.plan.model import LayerPlan, PlannedLayer
from layerplan.sbom.metadata import license_of
from layerplan.sbom.model import License, describe, purl_for, render
from layerplan.selection.model import InstallItem
from tests.plan.factories import install_set, item
from tests.sbom.validate import assert_valid_cyclonedx, assert_valid_spdx

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-project"
DIGEST = "sha256:" + "ab" * 32


def sbom_cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "layerplan", "sbom", str(EXAMPLE), "--no-index", *args], capture_output=True)


def small_plan() -> LayerPlan:
    numpy, click, local = item("numpy", "2.0.1"), item("Click_Ext", "1.2"), item("greeting", "0.1.0", local=True)
    numpy = InstallItem(**{**{f: getattr(numpy, f) for f in InstallItem.__slots__}, "required_by": ("<project>",)})  # type: ignore[arg-type]
    private = InstallItem(
        name=canonicalize_name("internal-lib"), version="3.0", choice="wheel",
        source=Source(kind="registry", url="https://user:secret@pypi.corp.example/simple"), index="https://user:secret@pypi.corp.example/simple",
        wheel=LockedFile(kind="wheel", filename="internal_lib-3.0-py3-none-any.whl", hashes=("sha256:" + "cd" * 32,)),
        required_by=("numpy",),
    )  # fmt: skip
    layers = (
        PlannedLayer(name="environment", kind="environment", key="k0", reason="venv"),
        PlannedLayer(name="dependencies", kind="dependencies", key="k1", reason="deps", packages=(click, numpy, private)),
        PlannedLayer(name="local", kind="local", key="k2", reason="local", packages=(local,)),
        PlannedLayer(name="app", kind="app", key="k3", reason="app"),
    )
    iset = install_set(numpy, click, local, private)
    return LayerPlan(project_name="app", project_version="1.0", target=iset.target, install_set=iset, layers=layers, lock_path="uv.lock", venv="/app/.venv")


def built_document() -> Any:
    return describe(
        small_plan(), epoch=1700000000, image_digest=DIGEST,
        layer_digests={"environment": "sha256:" + "01" * 32, "dependencies": "sha256:" + "02" * 32, "local": "sha256:" + "03" * 32, "app": "sha256:" + "04" * 32},
        base_name="python:3.11-slim", base_digest="sha256:" + "ee" * 32,
        licenses={
            "numpy": License(value="BSD-3-Clause", expression=True),
            "click-ext": License(value="Some Custom License (c) Corp", expression=False),
        },
    )  # fmt: skip


def test_purls_follow_the_pypi_rules_and_local_packages_have_none() -> None:
    assert purl_for(item("Click_Ext", "1.2")) == "pkg:pypi/click-ext@1.2"
    assert purl_for(item("greeting", local=True)) is None
    private = small_plan().layer("dependencies").packages[2]
    purl = purl_for(private)
    assert purl == "pkg:pypi/internal-lib@3.0?repository_url=https%3A%2F%2Fpypi.corp.example%2Fsimple"
    assert "secret" not in render(built_document(), "cyclonedx").decode()


def test_cyclonedx_of_a_build_is_valid_and_complete() -> None:
    data = render(built_document(), "cyclonedx")
    assert_valid_cyclonedx(data)
    bom = json.loads(data)
    assert bom["specVersion"] == "1.6" and bom["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"
    by_name = {c["name"]: c for c in bom["components"]}
    numpy = by_name["numpy"]
    assert numpy["purl"] == "pkg:pypi/numpy@2.0.1"
    assert numpy["licenses"] == [{"expression": "BSD-3-Clause"}]
    assert numpy["hashes"][0]["alg"] == "SHA-256" and len(numpy["hashes"][0]["content"]) == 64
    props = {p["name"]: p["value"] for p in numpy["properties"]}
    assert props["layerplan:layer"] == "dependencies" and props["layerplan:layer:digest"] == "sha256:" + "02" * 32
    assert by_name["click-ext"]["licenses"] == [{"license": {"name": "Some Custom License (c) Corp"}}]
    assert "purl" not in by_name["greeting"]
    base = by_name["python:3.11-slim"]
    assert base["type"] == "container" and base["version"] == "sha256:" + "ee" * 32
    assert base["purl"].startswith("pkg:oci/python@sha256%3A") and "repository_url=docker.io/library/python" in base["purl"]
    assert {"ref": "image", "dependsOn": ["base-image", "pkg:app@1.0"]} in bom["dependencies"]


def test_spdx_of_a_build_is_valid_and_complete(tmp_path: Path) -> None:
    data = render(built_document(), "spdx")
    assert_valid_spdx(data, tmp_path)
    doc = json.loads(data)
    packages = {p["SPDXID"]: p for p in doc["packages"]}
    numpy = packages["SPDXRef-Package-numpy-2.0.1"]
    assert numpy["licenseDeclared"] == "BSD-3-Clause"
    assert numpy["externalRefs"][0]["referenceLocator"] == "pkg:pypi/numpy@2.0.1"
    assert packages["SPDXRef-Package-click-ext-1.2"]["licenseDeclared"].startswith("LicenseRef-")
    relations = {(r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]) for r in doc["relationships"]}
    assert ("SPDXRef-Layer-dependencies", "CONTAINS", "SPDXRef-Package-numpy-2.0.1") in relations
    assert ("SPDXRef-Image", "DESCENDANT_OF", "SPDXRef-BaseImage") in relations
    assert packages["SPDXRef-BaseImage"]["checksums"] == [{"algorithm": "SHA256", "checksumValue": "ee" * 32}]


def test_the_same_inputs_give_the_same_bytes() -> None:
    for fmt in ("cyclonedx", "spdx"):
        assert render(built_document(), fmt) == render(built_document(), fmt)
    other = describe(small_plan(), epoch=1700000000, image_digest="sha256:" + "cd" * 32)
    assert json.loads(render(other, "cyclonedx"))["serialNumber"] != json.loads(render(built_document(), "cyclonedx"))["serialNumber"]


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ("Name: a\nLicense-Expression: mit or apache-2.0\nLicense: ignored\n", License(value="MIT OR Apache-2.0", expression=True)),
        ("Name: a\nLicense: BSD-3-Clause\n", License(value="BSD-3-Clause", expression=True)),
        ("Name: a\nLicense: The Corp License\n", License(value="The Corp License", expression=False)),
        ("Name: a\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: MIT License\n", License(value="MIT License", expression=False)),
        ("Name: a\nClassifier: Programming Language :: Python\n", None),
    ],
)
def test_the_license_comes_from_the_metadata(metadata: str, expected: License | None) -> None:
    assert license_of(metadata) == expected


def test_sbom_command_prints_valid_documents_of_the_plan(tmp_path: Path) -> None:
    cdx = sbom_cli()
    assert cdx.returncode == 0, cdx.stderr
    assert_valid_cyclonedx(cdx.stdout)
    bom = json.loads(cdx.stdout)
    assert {"name": "layerplan:described", "value": "plan"} in bom["metadata"]["component"]["properties"]
    names = {c["name"] for c in bom["components"]}
    assert {"numpy", "pydantic", "greeting", "layerplan-example"} <= names
    spdx = sbom_cli("--format", "spdx", "-o", str(tmp_path / "out.spdx.json"))
    assert spdx.returncode == 0, spdx.stderr
    assert spdx.stdout == b""
    assert_valid_spdx((tmp_path / "out.spdx.json").read_bytes(), tmp_path)
    assert sbom_cli("--format", "spdx").stdout == (tmp_path / "out.spdx.json").read_bytes()


def test_sbom_command_refuses_a_bad_format_in_one_line() -> None:
    result = sbom_cli("--format", "swid")
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_sbom_command_refuses_a_directory_as_output(tmp_path: Path) -> None:
    result = sbom_cli("-o", str(tmp_path))
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "is a directory" in lines[0], lines
    assert list(tmp_path.iterdir()) == []
