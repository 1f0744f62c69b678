"""The platform record of a base image: what scanning its files found (Python, libc,
symlinks), as one canonical JSON document keyed by the base's digest.

Scanning a base means downloading every one of its layers (45 MB for a Debian Python
image), so the record is kept: in the local cache (``platforms/``), and with each pushed
image as an OCI 1.1 referrer of ``ARTIFACT_TYPE`` (``containerize.attachments``), where a
fresh CI runner finds it beside the layers it reuses (``resolution.cache_images``).

The record is a cache, trusted for nothing it was not made for: :func:`parse_record`
checks its schema, that it is about the very base digest being built on, and that its
os/architecture are the base config's; anything else is :class:`PlatformRecordError`,
and the caller scans the base instead.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from layerplan.oci.digest import Digest, canonical_json

if TYPE_CHECKING:  # the constants are read by every push: the scanner loads only to parse
    from layerplan.image.platform import DetectedPlatform

__all__ = [
    "ARTIFACT_TYPE",
    "BASE_DIGEST_ANNOTATION",
    "BASE_PLATFORM_ANNOTATION",
    "MAX_RECORD_SIZE",
    "RECORD_FORMAT",
    "TITLE",
    "PlatformRecordError",
    "encode_record",
    "parse_record",
]

RECORD_FORMAT = "layerplan.base-platform/1"
"""A record of another format is not read (one warning, and the base is scanned)."""
ARTIFACT_TYPE = "application/vnd.layerplan.base-platform.v1+json"
"""The referrer's ``artifactType`` (and its one blob's media type)."""
BASE_DIGEST_ANNOTATION = "dev.layerplan.base.digest"
"""On the referrer manifest (so in the referrers listing): the base's manifest digest the
record is about; a record of another base is not even fetched."""
BASE_PLATFORM_ANNOTATION = "dev.layerplan.base.platform"
"""On the referrer manifest: ``linux/amd64``, the base's platform."""
TITLE = "base-platform.json"
MAX_RECORD_SIZE = 8 * 1024 * 1024
"""A bigger record blob is not read (a Debian base's is ~55 kB)."""

_FIELDS = frozenset({"os", "arch", "variant", "python_version", "python_path", "libc_family", "libc_version"})
"""``DetectedPlatform``'s fields (a test checks they agree)."""
_PYTHON = re.compile(r"3\.\d{1,3}(?:\.\d{1,4})?")
_LIBC_VERSION = re.compile(r"\d{1,4}\.\d{1,4}(?:\.\d{1,4})?")


class PlatformRecordError(ValueError):
    """A record that cannot be used for this base: malformed, another format or another base."""


def encode_record(base: Digest, platform: DetectedPlatform, symlinks: Mapping[str, str]) -> bytes:
    """The record of the base ``base``: canonical JSON, so the same facts are the same bytes
    (and the same referrer digest) on every machine, whether scanned or read back."""
    return canonical_json(
        {
            "format": RECORD_FORMAT,
            "base": str(base),
            "platform": dataclasses.asdict(platform),
            "symlinks": dict(symlinks),
        }
    )


def parse_record(data: bytes, *, base: Digest, config: Mapping[str, Any]) -> tuple[DetectedPlatform, dict[str, str]]:
    """The platform and symlinks ``data`` records for the base of digest ``base`` and
    config ``config``; raise :class:`PlatformRecordError` saying why it cannot be used."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PlatformRecordError(f"not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise PlatformRecordError("not a JSON object")
    if document.get("format") != RECORD_FORMAT:
        raise PlatformRecordError(f"unknown format {str(document.get('format'))[:60]!r} (this layerplan reads {RECORD_FORMAT})")
    if set(document) != {"format", "base", "platform", "symlinks"}:
        raise PlatformRecordError(f"unexpected fields {sorted(set(document))}")
    if document["base"] != str(base):
        raise PlatformRecordError(f"it is about base {str(document['base'])[:80]}, not {base}")
    platform = _platform(document["platform"])
    expected = (str(config.get("os") or "linux"), str(config.get("architecture") or ""), str(config["variant"]) if config.get("variant") else None)
    if (platform.os, platform.arch, platform.variant) != expected:
        raise PlatformRecordError(f"it says {platform.os}/{platform.arch}, the base's config {expected[0]}/{expected[1]}")
    return platform, _symlinks(document["symlinks"])


def _platform(value: object) -> DetectedPlatform:
    if not isinstance(value, dict) or set(value) != _FIELDS:
        raise PlatformRecordError(f"platform must be an object with exactly {sorted(_FIELDS)}")
    for name in ("os", "arch", "python_version", "python_path"):
        if not isinstance(value[name], str) or not value[name]:
            raise PlatformRecordError(f"platform.{name} must be a non-empty string")
    for name in ("variant", "libc_family", "libc_version"):
        if value[name] is not None and not isinstance(value[name], str):
            raise PlatformRecordError(f"platform.{name} must be a string or null")
    if not _PYTHON.fullmatch(value["python_version"]):
        raise PlatformRecordError(f"platform.python_version {value['python_version'][:40]!r} is not 3.X or 3.X.Y")
    if not _path(value["python_path"]):
        raise PlatformRecordError("platform.python_path must be an absolute path")
    if value["libc_family"] not in (None, "glibc", "musl"):
        raise PlatformRecordError("platform.libc_family must be glibc, musl or null")
    if value["libc_version"] is not None and not _LIBC_VERSION.fullmatch(value["libc_version"]):
        raise PlatformRecordError("platform.libc_version must be X.Y or X.Y.Z")
    from layerplan.image.platform import DetectedPlatform

    return DetectedPlatform(**value)


def _symlinks(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise PlatformRecordError("symlinks must be an object")
    for path, target in value.items():
        if not _path(path) or not isinstance(target, str) or "\x00" in target:
            raise PlatformRecordError(f"symlinks: {str(path)[:80]!r} -> {str(target)[:80]!r} is not an absolute path and a target")
    return dict(value)


def _path(text: object) -> bool:
    return isinstance(text, str) and text.startswith("/") and "\x00" not in text
