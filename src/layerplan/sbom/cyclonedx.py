"""CycloneDX 1.6 JSON of an ``SbomDocument``.

The image is ``metadata.component`` (type ``container``); every installed distribution
is a ``library`` component with its purl, the sha256 of its file and its license; the
layer it lives in is a pair of ``layerplan:layer`` properties (CycloneDX has no layer
field; syft and Trivy use properties the same way); the base image is a ``container``
component pinned by digest, with an ``pkg:oci`` purl.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from layerplan import __version__
from layerplan.sbom.formats import MEDIA_TYPES
from layerplan.sbom.model import License, SbomDocument, SbomPackage
from layerplan.sbom.timestamps import iso_utc
from layerplan.sbom.oci_purl import oci_purl

__all__ = ["MEDIA_TYPE", "licenses_in_layers", "render_cyclonedx"]

MEDIA_TYPE = MEDIA_TYPES["cyclonedx"]


def _ref(package: SbomPackage) -> str:
    return f"pkg:{package.name}@{package.version or ''}"


def _component(package: SbomPackage, document: SbomDocument) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "library", "bom-ref": _ref(package), "name": package.name}
    if package.version:
        out["version"] = package.version
    if package.purl:
        out["purl"] = package.purl
    if package.sha256:
        out["hashes"] = [{"alg": "SHA-256", "content": package.sha256}]
    if package.license is not None:
        if package.license.expression:
            out["licenses"] = [{"expression": package.license.value}]
        else:
            out["licenses"] = [{"license": {"name": package.license.value}}]
    properties = [{"name": "layerplan:layer", "value": package.layer}, {"name": "layerplan:source", "value": package.source}]
    digest = next((l.digest for l in document.layers if l.name == package.layer), None)
    if digest:
        properties.append({"name": "layerplan:layer:digest", "value": digest})
    if package.file:
        properties.append({"name": "layerplan:file", "value": package.file})
    out["properties"] = properties
    return out


def render_cyclonedx(document: SbomDocument) -> bytes:
    """Deterministic CycloneDX 1.6 JSON bytes (sorted keys)."""
    image: dict[str, Any] = {"type": "container", "bom-ref": "image", "name": document.project_name}
    if document.project_version:
        image["version"] = document.project_version
    if document.image_digest:
        image["hashes"] = [{"alg": "SHA-256", "content": document.image_digest.split(":", 1)[1]}]
    image_properties = [
        {"name": "layerplan:described", "value": document.described},
        {"name": "layerplan:target", "value": document.target},
    ]
    if document.image_digest:
        image_properties.append({"name": "layerplan:image:digest", "value": document.image_digest})
    image["properties"] = image_properties
    components = [_component(p, document) for p in document.packages]
    dependencies = [{"ref": _ref(p), "dependsOn": [_ref(d) for d in document.packages if d.name in p.depends_on]} for p in document.packages]
    top = [p for p in document.packages if p.source == "project"]
    image_depends = [_ref(p) for p in top] or [_ref(p) for p in document.packages]
    if document.base_name:
        base: dict[str, Any] = {"type": "container", "bom-ref": "base-image", "name": document.base_name}
        if document.base_digest:
            base["version"] = document.base_digest
            base["hashes"] = [{"alg": "SHA-256", "content": document.base_digest.split(":", 1)[1]}]
            purl = oci_purl(document.base_name, document.base_digest)
            if purl:
                base["purl"] = purl
        base["properties"] = [{"name": "layerplan:role", "value": "base-image"}]
        components.append(base)
        image_depends.append("base-image")
    dependencies.append({"ref": "image", "dependsOn": sorted(image_depends)})
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{document.serial('cyclonedx')}",
        "version": 1,
        "metadata": {
            "timestamp": iso_utc(document.epoch),
            "tools": {"components": [{"type": "application", "name": "layerplan", "version": __version__}]},
            "component": image,
        },
        "components": components,
        "dependencies": sorted(dependencies, key=lambda d: str(d["ref"])),
    }
    return json.dumps(bom, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"


def licenses_in_layers(data: bytes, layer_digests: Collection[str]) -> dict[str, License]:
    """Normalized name -> license of the components a CycloneDX SBOM of ours places in one
    of ``layer_digests`` (``layerplan:layer:digest``): how a build that reuses layers from a
    cache image states the licenses the cold build read from them. Anything unreadable: ``{}``."""
    try:
        bom = json.loads(data)
        found: dict[str, License] = {}
        for component in bom.get("components") or []:
            properties = {p.get("name"): p.get("value") for p in component.get("properties") or []}
            licenses = component.get("licenses") or []
            if properties.get("layerplan:layer:digest") not in layer_digests or len(licenses) != 1:
                continue
            (entry,) = licenses
            if isinstance(entry.get("expression"), str):
                found[str(component["name"])] = License(value=entry["expression"], expression=True)
            elif isinstance((entry.get("license") or {}).get("name"), str):
                found[str(component["name"])] = License(value=entry["license"]["name"], expression=False)
        return found
    except (ValueError, AttributeError, KeyError, TypeError):
        return {}
