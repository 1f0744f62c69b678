"""Content digests (``sha256:<hex>``) and the canonical JSON that keeps them stable."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Digest", "canonical_json"]

_DIGEST = re.compile(r"^(sha256):([a-f0-9]{64})$|^(sha512):([a-f0-9]{128})$")


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """A validated content digest. ``str(d)`` is ``algorithm:hex``."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``sha256:<64 hex>`` (or sha512); raise ``ValueError`` otherwise."""
        match = _DIGEST.match(text)
        if not match:
            raise ValueError(f"not a valid digest: {text!r}")
        algorithm, value = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        return cls(algorithm, value)

    @classmethod
    def of_bytes(cls, data: bytes) -> Digest:
        """The sha256 digest of ``data``."""
        return cls("sha256", hashlib.sha256(data).hexdigest())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def short(self) -> str:
        """First 12 hex characters, as ``docker images`` shows them."""
        return self.hex[:12]


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no insignificant whitespace, UTF-8.

    Image configs and manifests are hashed, so the same value must always give the
    same bytes.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
