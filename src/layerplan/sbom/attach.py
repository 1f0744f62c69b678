"""The SBOMs of a built image, as OCI 1.1 artifacts whose ``subject`` is the image."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from layerplan.cache.records import Records
from layerplan.cache.wheels import WheelCache
from layerplan.image.model import Image, Layer
from layerplan.image.referrer import Artifact, make_artifact
from layerplan.plan.model import LayerPlan
from layerplan.selection.model import InstallItem
from layerplan.sbom.formats import FILE_NAMES, FORMATS, MEDIA_TYPES
from layerplan.sbom.license_records import LicenseRecords
from layerplan.sbom.model import License, describe, render
from layerplan.sbom.timestamps import iso_utc

__all__ = ["locked_wheel_in", "sbom_artifacts"]


def sbom_artifacts(
    plan: LayerPlan, image: Image, layers: Mapping[str, Layer], *, local: Collection[str], epoch: int, base_name: str,
    base_digest: str, reused_licenses: Callable[[Collection[str]], Mapping[str, License]] | None = None,
    wheel_path: Callable[[InstallItem], Path | None] | None = None, license_records: Records | None = None,
) -> tuple[Artifact, ...]:
    """One artifact per format about ``image``, built from ``plan``; ``layers`` are the
    image layers the plan added, by the planned layer's name (their digests say where each
    package is). The licenses are read from the installed ``METADATA`` of the ``local``
    ones (built, or in the local cache); a layer reused from a cache image is not
    downloaded for them: ``reused_licenses(layer digests)`` gives theirs (from the cache
    image's own SBOM), so a fresh runner states what the cold build did. ``wheel_path``
    gives a package's wheel when the download cache holds it: its METADATA is read
    there instead (the same file). ``license_records`` (the cache's ``licenses`` area)
    remembers what each wheel and layer said, so a rebuild reads neither again."""
    memo = LicenseRecords(license_records) if license_records is not None else None
    licenses: dict[str, License] = {}
    expected: dict[str, list[str]] = {}
    for planned in plan.layers:
        # A wheel in the download cache is the installed METADATA's source, and far
        # cheaper to read than the layer (only that file is decompressed).
        names: list[str] = [str(plan.install_set.project)] if planned.kind == "app" else []
        for item in planned.packages:
            wheel = wheel_path(item) if wheel_path is not None else None
            if wheel is None:
                names.append(item.name)
                continue
            sha256 = _sha256(item)
            license = memo.wheel(sha256, wheel) if memo is not None and sha256 else _wheel_license(wheel)
            if license is not None:
                licenses[item.name] = license
        expected[planned.name] = names
    readable = [(layer, expected[name]) for name, layer in layers.items() if name in local and expected.get(name)]
    if memo is None:
        from layerplan.sbom.metadata import read_licenses

        licenses.update(read_licenses(readable))
    else:  # layer by layer, as read_licenses goes: a later layer's package wins
        for layer, names in readable:
            licenses.update(memo.layer(layer, names))
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


def locked_wheel_in(wheels: WheelCache) -> Callable[[InstallItem], Path | None]:
    """``wheel_path`` for :func:`sbom_artifacts`: the cached wheel the lock pins for an item
    (one file, by sha256 and name), or ``None``; nothing is downloaded."""

    def find(item: InstallItem) -> Path | None:
        wheel, sha256 = item.wheel, _sha256(item)
        if wheel is None or sha256 is None or not wheel.filename:
            return None
        try:
            return wheels.find(sha256, wheel.filename)
        except ValueError:  # not a plain file name: never in the cache
            return None

    return find


def _wheel_license(wheel: Path) -> License | None:
    from layerplan.sbom.metadata import wheel_license  # loaded when no record says it

    return wheel_license(wheel)


def _sha256(item: InstallItem) -> str | None:
    """The one sha256 the lock pins for the item's wheel, else ``None``."""
    wheel = item.wheel
    sha = [h.partition(":")[2] for h in (wheel.hashes if wheel is not None else ()) if h.startswith("sha256:")]
    return sha[0] if len(sha) == 1 else None
