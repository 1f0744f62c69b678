"""An index of two platforms' images through the file sinks and read back by layerplan's
own sources: a layer both images share is stored once, each platform is picked from the
nested index, and the index bytes are canonical (same images, same digest)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from lp_image_helpers import files, memory_layer, synthetic_image

from layerplan.image.errors import ImageError
from layerplan.image.image_index import ImageIndex
from layerplan.image.model import Image
from layerplan.oci.platform import Platform
from layerplan.transports import TransportContext, parse_output, read_oci_archive, read_oci_layout


def two_platforms(tmp_path: Path) -> tuple[Image, Image, str]:
    shared = memory_layer(files(tmp_path, {"app/main.py": b"print('hi')\n"}))
    amd64 = synthetic_image([memory_layer(files(tmp_path, {"lib/x86_64.so": b"x86"})), shared])
    arm64 = synthetic_image([memory_layer(files(tmp_path, {"lib/aarch64.so": b"arm"})), shared], architecture="arm64", variant="v8")
    return amd64, arm64, str(shared.digest)


def test_the_index_is_canonical_and_lists_shared_blobs_once(tmp_path: Path) -> None:
    amd64, arm64, shared = two_platforms(tmp_path)
    index = ImageIndex(images=(amd64, arm64))
    assert index.digest == ImageIndex(images=(amd64, arm64)).digest
    document = json.loads(index.manifest)
    assert [m["platform"] for m in document["manifests"]] == [
        {"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux", "variant": "v8"},
    ]  # fmt: skip
    digests = [str(d) for d, _, _ in index.blobs()]
    assert len(digests) == len(set(digests)) and digests.count(shared) == 1
    assert index.image_for(Platform(os="linux", architecture="arm64")) is arm64
    assert index.image_for(Platform(os="linux", architecture="s390x")) is None
    with pytest.raises(ImageError, match="one image per platform"):
        ImageIndex(images=(amd64, amd64))


@pytest.mark.parametrize("kind", ["oci", "oci-archive"])
def test_file_outputs_hold_the_index_and_each_platform_reads_back(kind: str, tmp_path: Path) -> None:
    amd64, arm64, _ = two_platforms(tmp_path)
    index = ImageIndex(images=(amd64, arm64))
    target = tmp_path / ("layout" if kind == "oci" else "image.tar")
    parse_output(f"{kind}:{target}").write_index(index, TransportContext(), tags=("app:1",))
    read = read_oci_layout if kind == "oci" else read_oci_archive
    for image in (amd64, arm64):
        assert read(target, platform=image.platform).digest == image.digest  # type: ignore[operator]
    if kind == "oci":
        (entry,) = json.loads((target / "index.json").read_bytes())["manifests"]
    else:
        with tarfile.open(target) as tar:
            member = tar.extractfile("index.json")
            assert member is not None
            (entry,) = json.loads(member.read())["manifests"]
    assert entry["digest"] == str(index.digest) and entry["annotations"] == {"org.opencontainers.image.ref.name": "app:1"}
