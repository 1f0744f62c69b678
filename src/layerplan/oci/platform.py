"""OCI platforms: ``os/architecture[/variant]`` with Go names (``amd64``, ``arm64``)."""

from __future__ import annotations

import platform as _host
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Platform"]

_MACHINE_TO_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "i686": "386",
}
# variants that are implied when absent (what containerd's platform matcher does)
_DEFAULT_VARIANT = {"arm64": "v8", "arm": "v7"}


@dataclass(frozen=True, kw_only=True, slots=True, order=True)
class Platform:
    """An OCI platform: ``os``/``architecture``[/``variant``], Go names (``amd64``, ``arm64``)."""

    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/arch[/variant]``; raise ``ValueError`` otherwise."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"invalid platform {text!r} (expected os/arch or os/arch/variant, e.g. linux/amd64)")
        return cls(os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else None)

    @classmethod
    def host(cls) -> Platform:
        """``linux/<this machine's architecture>``: the default target, never a hidden one."""
        machine = _host.machine().lower()
        return cls(os="linux", architecture=_MACHINE_TO_ARCH.get(machine, machine))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Platform:
        """From an index entry's ``platform`` or an image config (``os``, ``architecture``, ``variant``)."""
        return cls(
            os=str(data.get("os") or ""),
            architecture=str(data.get("architecture") or ""),
            variant=str(data["variant"]) if data.get("variant") else None,
        )

    def matches(self, other: Platform) -> bool:
        """Same os and architecture, and the same variant once defaults are filled in."""
        if self.os != other.os or self.architecture != other.architecture:
            return False
        default = _DEFAULT_VARIANT.get(self.architecture)
        return (self.variant or default) == (other.variant or default)

    def to_json(self) -> dict[str, str]:
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)
