"""A layout that also lists artifacts (``oras attach --oci-layout`` adds an SBOM to
index.json) still opens as its one image."""

from __future__ import annotations

import json
from pathlib import Path

from synthbase import SyntheticBase, synthetic_base  # noqa: F401

from layerplan.image.referrer import make_artifact
from layerplan.transports import read_oci_layout, write_oci_layout


def test_an_artifact_in_index_json_is_not_an_image(synthetic_base: SyntheticBase, tmp_path: Path) -> None:  # noqa: F811
    image = read_oci_layout(synthetic_base.layout)
    write_oci_layout(image, tmp_path / "layout", ref_name=None)
    artifact = make_artifact(image, artifact_type="application/spdx+json", data=b"{}", annotations={})
    index_path = tmp_path / "layout" / "index.json"
    index = json.loads(index_path.read_bytes())
    index["manifests"].append(artifact.descriptor_json())
    index_path.write_text(json.dumps(index))
    (tmp_path / "layout" / "blobs" / "sha256" / artifact.digest.hex).write_bytes(artifact.manifest)

    assert read_oci_layout(tmp_path / "layout").digest == image.digest
    manifest = json.loads(artifact.manifest)
    assert manifest["subject"]["digest"] == str(image.digest)
    assert manifest["config"]["data"] == "e30=" and manifest["artifactType"] == "application/spdx+json"
