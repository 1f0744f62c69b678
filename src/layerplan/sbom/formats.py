"""The SBOM formats, by name and media type (cheap to import: the CLI's choices)."""

from __future__ import annotations

__all__ = ["FILE_NAMES", "FORMATS", "MEDIA_TYPES"]

FORMATS = ("cyclonedx", "spdx")
"""The formats ``model.render`` writes; the first is the default."""

MEDIA_TYPES = {"cyclonedx": "application/vnd.cyclonedx+json", "spdx": "application/spdx+json"}
"""The ``artifactType`` of each format's referrer manifest, and its blob's media type."""

FILE_NAMES = {"cyclonedx": "sbom.cdx.json", "spdx": "sbom.spdx.json"}
"""Each document's ``org.opencontainers.image.title`` (what ``oras pull`` names the file),
and the suffix of the file written beside an ``oci:``/``oci-archive:`` output."""
