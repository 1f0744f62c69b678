"""OCI image manifests, in canonical JSON so the same inputs give the same digest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from layerplan.image.config import rfc3339
from layerplan.oci.descriptor import Descriptor, MediaType
from layerplan.oci.digest import Digest, canonical_json

__all__ = ["build_manifest", "image_annotations", "oci_layer_media_type"]

_DOCKER_TO_OCI = {
    MediaType.DOCKER_LAYER_GZIP: MediaType.OCI_LAYER_GZIP,
    "application/vnd.docker.image.rootfs.diff.tar": MediaType.OCI_LAYER_TAR,
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
}


def oci_layer_media_type(media_type: str) -> str:
    """The OCI name of a layer media type (Docker's names are mapped; OCI ones kept)."""
    return _DOCKER_TO_OCI.get(media_type, media_type)


def image_annotations(
    *,
    epoch: int,
    base_name: str | None = None,
    base_digest: Digest | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``org.opencontainers.image.created`` (from ``epoch``), ``base.name``/``base.digest``
    when known, then ``extra`` (title, version, source, revision...; keys may be given
    without the ``org.opencontainers.image.`` prefix)."""
    prefix = "org.opencontainers.image."
    out = {f"{prefix}created": rfc3339(epoch)}
    if base_name:
        out[f"{prefix}base.name"] = base_name
    if base_digest:
        out[f"{prefix}base.digest"] = str(base_digest)
    for key, value in (extra or {}).items():
        out[key if "." in key else f"{prefix}{key}"] = value
    return out


def build_manifest(
    *, config: bytes, layers: Sequence[Descriptor], annotations: Mapping[str, str] | None = None
) -> bytes:
    """The canonical JSON of an OCI manifest for ``config`` (bytes) and ``layers``.

    Layer media types from Docker manifests are renamed to their OCI equivalents (the
    bytes are the same), so a Docker-format base still yields a valid OCI manifest.
    """
    config_descriptor = Descriptor(media_type=MediaType.OCI_CONFIG, digest=Digest.of_bytes(config), size=len(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MediaType.OCI_MANIFEST,
        "config": config_descriptor.to_json(),
        "layers": [
            Descriptor(
                media_type=oci_layer_media_type(d.media_type), digest=d.digest, size=d.size, annotations=d.annotations
            ).to_json()
            for d in layers
        ],
    }
    if annotations:
        manifest["annotations"] = dict(annotations)
    return canonical_json(manifest)
