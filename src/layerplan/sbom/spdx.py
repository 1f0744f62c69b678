"""SPDX 2.3 JSON of an ``SbomDocument``.

The document DESCRIBES the image (a ``CONTAINER`` package); the image CONTAINS one
package per layer it adds (with the layer's digest as checksum, when built), each layer
CONTAINS the distributions installed in it, and the image is a DESCENDANT_OF its base,
recorded by digest. A license that is not a valid SPDX expression is declared as a
``LicenseRef-`` with the metadata's text (``hasExtractedLicensingInfos``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from layerplan import __version__
from layerplan.sbom.formats import MEDIA_TYPES
from layerplan.sbom.model import SbomDocument, SbomPackage
from layerplan.sbom.oci_purl import oci_purl
from layerplan.sbom.timestamps import iso_utc

__all__ = ["MEDIA_TYPE", "render_spdx"]

MEDIA_TYPE = MEDIA_TYPES["spdx"]
_NOT_ID = re.compile(r"[^A-Za-z0-9.-]+")


def _id(*parts: str) -> str:
    return "SPDXRef-" + "-".join(_NOT_ID.sub("-", part) for part in parts)


def _package_id(package: SbomPackage) -> str:
    return _id("Package", package.name, package.version or "")


def _license(package: SbomPackage, extracted: dict[str, str]) -> str:
    if package.license is None:
        return "NOASSERTION"
    if package.license.expression:
        return package.license.value
    ref = "LicenseRef-" + _NOT_ID.sub("-", package.license.value).strip("-")[:60]
    extracted[ref] = package.license.value
    return ref


def render_spdx(document: SbomDocument) -> bytes:
    """Deterministic SPDX 2.3 JSON bytes (sorted keys)."""
    extracted: dict[str, str] = {}
    image: dict[str, Any] = {
        "SPDXID": "SPDXRef-Image", "name": document.project_name, "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False, "primaryPackagePurpose": "CONTAINER",
        "comment": f"layerplan:described={document.described}; target: {document.target}",
    }  # fmt: skip
    if document.project_version:
        image["versionInfo"] = document.project_version
    if document.image_digest:
        image["checksums"] = [{"algorithm": "SHA256", "checksumValue": document.image_digest.split(":", 1)[1]}]
    packages: list[dict[str, Any]] = [image]
    relationships = [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Image"}]
    for layer in document.layers:
        entry: dict[str, Any] = {
            "SPDXID": _id("Layer", layer.name), "name": f"layer {layer.name}", "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False, "comment": f"layerplan:layer={layer.name}; kind: {layer.kind}",
        }  # fmt: skip
        if layer.digest:
            entry["checksums"] = [{"algorithm": "SHA256", "checksumValue": layer.digest.split(":", 1)[1]}]
        packages.append(entry)
        relationships.append({"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": entry["SPDXID"]})
    by_name = {p.name: p for p in document.packages}
    for package in document.packages:
        entry = {
            "SPDXID": _package_id(package), "name": package.name, "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False, "licenseConcluded": "NOASSERTION", "licenseDeclared": _license(package, extracted),
            "copyrightText": "NOASSERTION", "primaryPackagePurpose": "APPLICATION" if package.source == "project" else "LIBRARY",
            "comment": f"layerplan:layer={package.layer}; source: {package.source}",
        }  # fmt: skip
        if package.version:
            entry["versionInfo"] = package.version
        if package.file:
            entry["packageFileName"] = package.file
        if package.sha256:
            entry["checksums"] = [{"algorithm": "SHA256", "checksumValue": package.sha256}]
        if package.purl:
            entry["externalRefs"] = [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": package.purl}]
        packages.append(entry)
        relationships.append({"spdxElementId": _id("Layer", package.layer), "relationshipType": "CONTAINS", "relatedSpdxElement": entry["SPDXID"]})
        relationships += [
            {"spdxElementId": entry["SPDXID"], "relationshipType": "DEPENDS_ON", "relatedSpdxElement": _package_id(by_name[name])}
            for name in package.depends_on if name in by_name
        ]  # fmt: skip
    if document.base_name:
        base: dict[str, Any] = {
            "SPDXID": "SPDXRef-BaseImage", "name": document.base_name, "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False, "primaryPackagePurpose": "CONTAINER",
        }  # fmt: skip
        if document.base_digest:
            base["versionInfo"] = document.base_digest
            base["checksums"] = [{"algorithm": "SHA256", "checksumValue": document.base_digest.split(":", 1)[1]}]
            purl = oci_purl(document.base_name, document.base_digest)
            if purl:
                base["externalRefs"] = [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}]
        packages.append(base)
        relationships.append({"spdxElementId": "SPDXRef-Image", "relationshipType": "DESCENDANT_OF", "relatedSpdxElement": "SPDXRef-BaseImage"})
    name = f"{document.project_name}-{document.project_version}" if document.project_version else document.project_name
    spdx: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": f"https://spdx.org/spdxdocs/layerplan-{_NOT_ID.sub('-', name)}-{document.serial('spdx')}",
        "creationInfo": {"created": iso_utc(document.epoch), "creators": [f"Tool: layerplan-{__version__}"]},
        "packages": packages,
        "relationships": relationships,
    }
    if extracted:
        spdx["hasExtractedLicensingInfos"] = [
            {"licenseId": ref, "extractedText": text, "name": text} for ref, text in sorted(extracted.items())
        ]
    return json.dumps(spdx, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"
