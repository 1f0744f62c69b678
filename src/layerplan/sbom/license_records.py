"""The licenses an SBOM read, remembered by what was read: a wheel by its sha256, a layer
by its digest and the packages looked for in it.

Reading them is most of a no-change rebuild's SBOM work (a big wheel's zip directory, the
app layer decompressed up to its ``METADATA``), and the answer never changes for the same
bytes read the same way: the key holds the bytes' digest, this module's ``FORMAT`` and
the version of ``packaging`` that canonicalizes the expressions. A record that is not
what this module writes (cut short, edited, another format) is read as none: the
licenses are read again and the record written again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Collection
from pathlib import Path

import packaging

from layerplan.cache.records import Records
from layerplan.image.model import Layer
from layerplan.sbom.model import License

__all__ = ["FORMAT", "LicenseRecords"]

FORMAT = 1
"""Bump when what ``layerplan.sbom.metadata`` reads from the same bytes changes."""


class LicenseRecords:
    """Licenses of wheels and layers, read once per key and kept in ``records``."""

    def __init__(self, records: Records) -> None:
        self._records = records

    def wheel(self, sha256: str, wheel: Path) -> License | None:
        """``wheel_license(wheel)`` of the wheel whose sha256 is ``sha256``."""
        def read() -> dict[str, License]:
            from layerplan.sbom.metadata import wheel_license

            license = wheel_license(wheel)
            return {} if license is None else {"": license}

        return self._remembered(f"wheel {sha256}", read).get("")

    def layer(self, layer: Layer, expected: Collection[str]) -> dict[str, License]:
        """``read_licenses`` of one layer, looking for the packages ``expected``."""
        def read() -> dict[str, License]:
            from layerplan.sbom.metadata import read_licenses

            return read_licenses([(layer, expected)])

        return self._remembered(f"layer {layer.digest} {','.join(sorted(expected))}", read)

    def _remembered(self, what: str, read: Callable[[], dict[str, License]]) -> dict[str, License]:
        key = hashlib.sha256(f"licenses {FORMAT} packaging {packaging.__version__} {what}".encode()).hexdigest()
        found = _parse(self._records.get(key))
        if found is None:
            found = read()
            document = {"format": FORMAT, "licenses": {n: [l.value, l.expression] for n, l in sorted(found.items())}}
            with contextlib.suppress(OSError):  # a cache that cannot be written costs the next build a read
                self._records.put(key, json.dumps(document, sort_keys=True).encode(), durable=False)
        return found


def _parse(data: bytes | None) -> dict[str, License] | None:
    """The licenses of a record this module wrote, else ``None``."""
    if data is None:
        return None
    try:
        document = json.loads(data)
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("format") != FORMAT or not isinstance(document.get("licenses"), dict):
        return None
    found: dict[str, License] = {}
    for name, entry in document["licenses"].items():
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and isinstance(entry[1], bool)):
            return None
        found[name] = License(value=entry[0], expression=entry[1])
    return found
