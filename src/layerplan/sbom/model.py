"""The format-neutral SBOM: packages with their layer, file hash, purl and license.

Everything here is decided from the plan (names, versions, files and hashes the lock
pins), the build (layer digests, base digest, image digest) and the installed wheels'
``METADATA`` (licenses, ``metadata.read_licenses``). Nothing reads the clock: the one
time stamp is the build's ``SOURCE_DATE_EPOCH``, so one build gives one SBOM, byte for byte.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from layerplan.fetch.model import PYPI_SIMPLE
from layerplan.plan.model import LayerPlan
from layerplan.sbom.formats import FORMATS
from layerplan.selection.model import InstallItem
from layerplan.urls import public_url

__all__ = ["FORMATS", "License", "SbomDocument", "SbomLayer", "SbomPackage", "describe", "purl_for", "render"]

_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "layerplan:sbom")
"""Fixed, so a serial number derived from the same image digest is the same everywhere."""


@dataclass(frozen=True, kw_only=True, slots=True)
class License:
    """A package's license as its metadata states it."""

    value: str
    expression: bool
    """True: a valid SPDX expression (``License-Expression``, or a ``License`` field that
    is one); False: free text (a short ``License`` field or a ``License ::`` classifier)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SbomLayer:
    """One layer the image adds (base layers are the base's business: see ``base_digest``)."""

    name: str
    kind: str
    digest: str | None
    """The layer blob's digest; ``None`` when only the plan is described."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SbomPackage:
    """One installed distribution."""

    name: str
    version: str | None
    layer: str
    source: str
    """The lock's source kind: ``registry``, ``git``, ``url``, ``path``, ``directory``... or ``project``."""
    purl: str | None
    sha256: str | None
    """The hex sha256 of the file installed (the wheel; for a package built from its sdist,
    the sdist's), as the lock pins it; ``None`` when the lock pins no single file."""
    file: str | None = None
    license: License | None = None
    depends_on: tuple[str, ...] = ()
    """Names of the packages this one pulls in (from the lock's graph)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SbomDocument:
    """What both formats say; ``described`` is ``image`` for a build, ``plan`` without one."""

    project_name: str
    project_version: str | None
    described: Literal["image", "plan"]
    image_digest: str | None
    base_name: str | None
    base_digest: str | None
    target: str
    layers: tuple[SbomLayer, ...]
    packages: tuple[SbomPackage, ...]
    epoch: int
    plan_key: str
    """A digest of the plan's layer keys: names a plan-only SBOM as the image digest names a built one."""

    @property
    def identity(self) -> str:
        """What the serial number and namespace are derived from."""
        return self.image_digest or f"plan:{self.plan_key}"

    def serial(self, fmt: str) -> uuid.UUID:
        """A UUID fixed by the image (or the plan) and the format."""
        return uuid.uuid5(_UUID_NAMESPACE, f"{fmt}:{self.identity}")


def purl_for(item: InstallItem) -> str | None:
    """The package URL of an index package: ``pkg:pypi/<name>@<version>``.

    The name is already normalized (PEP 503: lowercase, runs of ``-_.`` as ``-``), which
    the purl spec's pypi rule (lowercase, ``_`` as ``-``) is a subset of. A package from
    an index other than PyPI carries it as ``repository_url`` (purl spec). A package
    from a local tree, a git checkout or an archive URL has no purl: ``pkg:pypi/NAME``
    would claim it is PyPI's NAME, which a scanner would then match advisories against
    (it may not even be the same project); the SBOM names its source instead.
    """
    if item.source.kind != "registry" or not item.version:
        return None
    purl = f"pkg:pypi/{quote(item.name, safe='')}@{quote(item.version, safe='')}"
    index = item.index or item.source.url
    if index and index.rstrip("/") + "/" != PYPI_SIMPLE and "pypi.org/" not in index:
        purl += f"?repository_url={quote(public_url(index), safe='')}"
    return purl


def _sha256(item: InstallItem) -> tuple[str | None, str | None]:
    """(hex sha256, file name) of the file the lock pins for ``item``."""
    chosen = item.wheel if item.wheel is not None else item.sdist
    hashes = chosen.hashes if chosen is not None else item.hashes
    sha = [h.split(":", 1)[1] for h in hashes if h.startswith("sha256:")]
    name = (chosen.filename or (chosen.url.rsplit("/", 1)[-1] if chosen.url else None)) if chosen is not None else None
    return (sha[0] if len(sha) == 1 else None), name


def describe(
    plan: LayerPlan,
    *,
    epoch: int,
    image_digest: str | None = None,
    layer_digests: Mapping[str, str] | None = None,
    base_name: str | None = None,
    base_digest: str | None = None,
    licenses: Mapping[str, License] | None = None,
) -> SbomDocument:
    """The SBOM of ``plan``: of the built image when ``image_digest`` (and the layers'
    digests by layer name) are given, else of the plan alone (layer names, no digests).
    ``licenses`` maps a normalized name to its license (``metadata.read_licenses``)."""
    import hashlib

    licenses = licenses or {}
    digests = layer_digests or {}
    needed_by: dict[str, set[str]] = {}
    for layer in plan.layers:
        for item in layer.packages:
            for parent in item.required_by:
                needed_by.setdefault(parent, set()).add(str(item.name))
    packages: list[SbomPackage] = []
    for layer in plan.layers:
        for item in layer.packages:
            sha, filename = _sha256(item)
            packages.append(
                SbomPackage(
                    name=str(item.name), version=item.version, layer=layer.name, source=item.source.kind,
                    purl=purl_for(item), sha256=sha, file=filename, license=licenses.get(str(item.name)),
                    depends_on=tuple(sorted(needed_by.get(str(item.name), ()))),
                )
            )  # fmt: skip
        if layer.kind == "app":
            name = plan.install_set.project
            packages.append(
                SbomPackage(
                    name=str(name), version=plan.project_version, layer=layer.name, source="project", purl=None,
                    sha256=None, license=licenses.get(str(name)), depends_on=tuple(sorted(needed_by.get("<project>", ()))),
                )
            )  # fmt: skip
    layers = tuple(SbomLayer(name=l.name, kind=l.kind, digest=digests.get(l.name)) for l in plan.layers)
    plan_key = hashlib.sha256("\n".join(l.key for l in plan.layers).encode()).hexdigest()
    return SbomDocument(
        project_name=plan.project_name,
        project_version=plan.project_version,
        described="image" if image_digest else "plan",
        image_digest=image_digest,
        base_name=base_name,
        base_digest=base_digest,
        target=plan.target.describe(),
        layers=layers,
        packages=tuple(sorted(packages, key=lambda p: (p.name, p.version or ""))),
        epoch=epoch,
        plan_key=plan_key,
    )


def render(document: SbomDocument, fmt: str) -> bytes:
    """``document`` as ``cyclonedx`` or ``spdx`` JSON (sorted keys, a final newline)."""
    if fmt == "cyclonedx":
        from layerplan.sbom.cyclonedx import render_cyclonedx

        return render_cyclonedx(document)
    if fmt == "spdx":
        from layerplan.sbom.spdx import render_spdx

        return render_spdx(document)
    raise ValueError(f"unknown SBOM format {fmt!r}")
