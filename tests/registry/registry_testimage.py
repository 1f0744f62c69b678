"""Small real images for the registry tests: gzip'd tar layers, a config, a manifest."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import tarfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from layerplan.image import Image
from layerplan.oci import Descriptor, Digest, ImageReference, canonical_json
from layerplan.oci.descriptor import MediaType


def unique_repository(name: str) -> str:
    """A repository no earlier run used (the test registry keeps its storage)."""
    return f"layerplan-test/{name}-{uuid.uuid4().hex[:12]}"


def make_layer(files: Mapping[str, bytes]) -> tuple[bytes, Digest]:
    """A gzip'd tar of ``files`` (path -> content) and its diff_id (digest of the tar)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            info = tarfile.TarInfo(path)
            info.size = len(files[path])
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(files[path]))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), Digest.of_bytes(tar_bytes)


@dataclass
class SampleImage:
    """The bytes of a small image; ``image()`` is what ``push_image`` takes."""

    manifest: bytes
    config: bytes
    layers: list[tuple[Descriptor, bytes]] = field(default_factory=list)
    """The new layers and their content (after the base's, whose content is not here)."""

    @property
    def manifest_digest(self) -> Digest:
        return Digest.of_bytes(self.manifest)

    @property
    def config_digest(self) -> Digest:
        return Digest.of_bytes(self.config)

    def image(self, *, base: Any = None, origin: ImageReference | None = None) -> Image:
        """The image: the base's layers open with ``base(descriptor)`` (a registry
        download, say) and come from ``origin``, like a pulled base's; the new layers
        open from memory. With only ``origin``, every layer and the config come from it,
        as when the whole image was pulled from there."""
        new = {desc.digest: data for desc, data in self.layers}

        def opener_for(desc: Descriptor) -> Any:
            if desc.digest in new:
                return _opener(new[desc.digest])
            if base is None:
                raise AssertionError(f"no content for base layer {desc.digest}")
            return base(desc)

        if base is None:  # the whole image came from origin
            return Image.from_manifest(self.manifest, self.config, opener_for, origin=origin)
        image = Image.from_manifest(self.manifest, self.config, opener_for)
        layers = tuple(
            layer if layer.digest in new else dataclasses.replace(layer, origin=origin) for layer in image.layers
        )
        return dataclasses.replace(image, layers=layers)


def _opener(data: bytes) -> Any:
    def open_() -> BinaryIO:
        return io.BytesIO(data)

    return open_


def make_image(
    layer_files: Sequence[Mapping[str, bytes]],
    *,
    base_config: Mapping[str, Any] | None = None,
    base_layers: Sequence[Descriptor] = (),
    docker_types: bool = False,
) -> SampleImage:
    """An image whose layers hold ``layer_files``, optionally on top of a base image.

    With a base, its layers come first in the manifest (their content is not given:
    the push must find or mount them), and its config is extended.
    """
    layer_type = MediaType.DOCKER_LAYER_GZIP if docker_types else MediaType.OCI_LAYER_GZIP
    layers = []
    diff_ids = []
    for files in layer_files:
        blob, diff_id = make_layer(files)
        layers.append((Descriptor(media_type=layer_type, digest=Digest.of_bytes(blob), size=len(blob)), blob))
        diff_ids.append(str(diff_id))
    config: dict[str, Any] = dict(base_config or {"architecture": "amd64", "os": "linux", "config": {}})
    rootfs = dict(config.get("rootfs") or {"type": "layers", "diff_ids": []})
    rootfs["diff_ids"] = list(rootfs["diff_ids"]) + diff_ids
    config["rootfs"] = rootfs
    config["history"] = list(config.get("history") or []) + [
        {"created_by": f"registry test layer {i}"} for i in range(len(diff_ids))
    ]
    config_bytes = canonical_json(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MediaType.DOCKER_MANIFEST if docker_types else MediaType.OCI_MANIFEST,
        "config": {
            "mediaType": MediaType.DOCKER_CONFIG if docker_types else MediaType.OCI_CONFIG,
            "digest": str(Digest.of_bytes(config_bytes)),
            "size": len(config_bytes),
        },
        "layers": [d.to_json() for d in base_layers] + [d.to_json() for d, _ in layers],
    }
    return SampleImage(manifest=canonical_json(manifest), config=config_bytes, layers=layers)


def sha256_file(path: Any) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"
