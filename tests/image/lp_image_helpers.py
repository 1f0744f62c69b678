"""Helpers shared by the image and outputs tests: synthetic images and the real base image."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from engine import unavailable

from layerplan.image import (
    Image,
    Layer,
    LayerEntry,
    LayerOptions,
    build_manifest,
    bytes_opener,
    write_layer,
)
from layerplan.image.model import LayerBlob
from layerplan.oci import canonical_json


def memory_layer(entries: Sequence[LayerEntry], options: LayerOptions | None = None) -> Layer:
    """A layer built in memory from ``entries``."""
    out = io.BytesIO()
    blob: LayerBlob = write_layer(entries, out, options)
    return Layer.from_blob(blob, bytes_opener(out.getvalue()))


def files(tmp: Path, spec: dict[str, bytes | str]) -> list[LayerEntry]:
    """Entries for ``{"usr/bin/x": b"content", "usr/bin/y": "->target"}`` (``->`` makes a symlink)."""
    entries = []
    for index, (path, value) in enumerate(sorted(spec.items())):
        if isinstance(value, str) and value.startswith("->"):
            entries.append(LayerEntry(path=path, kind="symlink", link_target=value[2:]))
            continue
        source = tmp / f"src-{index}"
        source.write_bytes(value if isinstance(value, bytes) else value.encode())
        entries.append(LayerEntry(path=path, kind="file", source=source, executable=path.split("/")[-2:-1] == ["bin"]))
    return entries


def synthetic_image(layers: Sequence[Layer], *, config: dict[str, Any] | None = None,
                    architecture: str = "amd64", variant: str | None = None) -> Image:
    """A single-platform image of ``layers`` with a minimal config."""
    body: dict[str, Any] = {
        "architecture": architecture,
        "os": "linux",
        "config": config or {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [str(layer.diff_id) for layer in layers]},
        "history": [{"created_by": f"synthetic layer {i}"} for i in range(len(layers))],
    }
    if variant:
        body["variant"] = variant
    config_bytes = canonical_json(body)
    manifest = build_manifest(config=config_bytes, layers=[layer.descriptor for layer in layers])
    return Image(manifest=manifest, config=config_bytes, layers=tuple(layers))


def skopeo() -> str | None:
    return shutil.which("skopeo")


def copy_to_layout(reference: str, directory: Path, ref_name: str = "latest") -> Path:
    """``skopeo copy docker://reference oci:directory:ref_name`` from a loopback registry."""
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{reference}", f"oci:{directory}:{ref_name}"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return directory


@pytest.fixture(scope="session")
def base_layout(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real base image from the test registry, copied into an OCI layout by skopeo."""
    if skopeo() is None:
        unavailable("skopeo is not installed")
    return copy_to_layout(base_image, tmp_path_factory.mktemp("base") / "layout")
