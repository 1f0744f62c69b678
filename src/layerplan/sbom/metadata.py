"""Licenses from the installed wheels' ``METADATA``, read out of the image's layers.

The layers themselves are read (not the wheels in the download cache), so the licenses
an SBOM states depend only on the image: a build whose layers all came from the cache
states the same ones as the cold build that made them.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Collection, Iterable
from email.parser import HeaderParser
from pathlib import Path

from packaging.utils import canonicalize_name

from layerplan.image.model import Layer
from layerplan.sbom.model import License

__all__ = ["license_of", "read_licenses", "wheel_license"]

_SHORT = 100
"""A ``License`` field longer than this (or on several lines) is the license's full text,
not its name: the classifiers name it better."""


def license_of(metadata: str) -> License | None:
    """The license a ``METADATA`` file states: ``License-Expression`` (PEP 639), else a
    ``License`` field that is a valid SPDX expression or a short name, else the
    ``License ::`` classifiers (their last segment, joined with ``AND``); ``None``."""
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression  # ~3 ms: when read

    headers = HeaderParser().parsestr(metadata)
    expression = (headers.get("License-Expression") or "").strip()
    if expression:
        try:
            return License(value=str(canonicalize_license_expression(expression)), expression=True)
        except InvalidLicenseExpression:
            return License(value=expression, expression=False)
    text = (headers.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= _SHORT and text.upper() not in ("UNKNOWN", "NONE"):
        try:
            return License(value=str(canonicalize_license_expression(text)), expression=True)
        except InvalidLicenseExpression:
            return License(value=text, expression=False)
    classifiers = [c.split("::")[-1].strip() for c in headers.get_all("Classifier") or () if c.startswith("License ::")]
    classifiers = [c for c in classifiers if c and c != "OSI Approved"]
    if classifiers:
        return License(value=" AND ".join(sorted(set(classifiers))), expression=False)
    return None


def wheel_license(wheel: Path) -> License | None:
    """The license a wheel's ``*.dist-info/METADATA`` states: the same file the install
    copies into the layer, read without decompressing the rest. ``None`` when it states
    none or the wheel cannot be read."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            if len(names) != 1:
                return None
            return license_of(archive.read(names[0]).decode("utf-8", "replace"))
    except (OSError, zipfile.BadZipFile):
        return None


def read_licenses(layers: Iterable[tuple[Layer, Collection[str]]]) -> dict[str, License]:
    """Normalized name -> license, from the ``*.dist-info/METADATA`` files of each layer;
    the reading of a layer stops once the METADATA of each of its expected names (the
    packages the plan put there) was seen. Layer entries are sorted by name and
    ``numpy-2.4.6.dist-info/`` sorts before ``numpy/``: the bulk of a big package's layer
    is never decompressed."""
    found: dict[str, License] = {}
    for layer, expected in layers:
        missing = {canonicalize_name(name) for name in expected}
        with layer.open_tar() as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                if not missing:
                    break
                parts = member.name.split("/")
                if not member.isfile() or len(parts) < 2 or parts[-1] != "METADATA" or not parts[-2].endswith(".dist-info"):
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                text = handle.read().decode("utf-8", "replace")
                name = HeaderParser().parsestr(text).get("Name")
                if not name:
                    continue
                missing.discard(canonicalize_name(name))
                license = license_of(text)
                if license is not None:
                    found[canonicalize_name(name)] = license
    return found
