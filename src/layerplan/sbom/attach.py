"""The SBOMs of a built image, as OCI 1.1 artifacts whose ``subject`` is the image."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from layerplan.image.model import Image, Layer
from layerplan.image.referrer import Artifact, make_artifact
from layerplan.plan.model import LayerPlan
from layerplan.sbom.formats import FILE_NAMES, FORMATS, MEDIA_TYPES
from layerplan.sbom.metadata import read_licenses
from layerplan.sbom.model import License, describe, render
from layerplan.sbom.timestamps import iso_utc

__all__ = ["sbom_artifacts"]


def sbom_artifacts(
    plan: LayerPlan, image: Image, layers: Mapping[str, Layer], *, local: Collection[str], epoch: int, base_name: str,
    base_digest: str, reused_licenses: Callable[[Collection[str]], Mapping[str, License]] | None = None,
) -> tuple[Artifact, ...]:
    """One artifact per format about ``image``, built from ``plan``; ``layers`` are the
    image layers the plan added, by the planned layer's name (their digests say where each
    package is). The licenses are read from the installed ``METADATA`` of the ``local``
    ones (built, or in the local cache); a layer reused from a cache image is not
    downloaded for them: ``reused_licenses(layer digests)`` gives theirs (from the cache
    image's own SBOM), so a fresh runner states what the cold build did."""
    readable = [layer for name, layer in layers.items() if name in local]
    licenses = dict(read_licenses(readable))
    others = [str(layer.digest) for name, layer in layers.items() if name not in local]
    if others and reused_licenses is not None:
        licenses = {**reused_licenses(others), **licenses}
    document = describe(
        plan, epoch=epoch, image_digest=str(image.digest), layer_digests={name: str(l.digest) for name, l in layers.items()},
        base_name=base_name, base_digest=base_digest, licenses=licenses,
    )  # fmt: skip
    return tuple(
        make_artifact(
            image, artifact_type=MEDIA_TYPES[fmt], data=render(document, fmt),
            annotations={"org.opencontainers.image.created": iso_utc(epoch), "org.opencontainers.image.title": FILE_NAMES[fmt]},
        )  # fmt: skip
        for fmt in FORMATS
    )
