"""Where an image goes, as users write it: ``oci:DIR``, ``oci-archive:FILE``,
``docker-archive:FILE``, ``registry:REF`` (push) or ``docker:REF`` (load into the engine)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from layerplan.errors import ConfigError
from layerplan.oci.reference import ImageReference

__all__ = ["OUTPUT_KINDS", "OutputKind", "OutputSpec", "parse_output"]

OutputKind = Literal["oci", "oci-archive", "docker-archive", "registry", "docker"]
OUTPUT_KINDS: tuple[OutputKind, ...] = ("oci", "oci-archive", "docker-archive", "registry", "docker")


@dataclass(frozen=True, kw_only=True, slots=True)
class OutputSpec:
    """Where the image goes: ``oci:DIR``, ``oci-archive:FILE``, ``docker-archive:FILE``,
    ``registry:REF`` (push) or ``docker:REF`` (load into the engine)."""

    kind: OutputKind
    target: str
    reference: ImageReference | None = None
    """For ``registry:``/``docker:``: the parsed image reference."""

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"


def parse_output(text: str) -> OutputSpec:
    """Parse an output spec; raise ``ConfigError`` naming the allowed forms."""
    kind, sep, target = text.partition(":")
    if not sep or kind not in OUTPUT_KINDS or not target:
        raise ConfigError(
            f"invalid output {text!r}",
            key="--output",
            hint="use oci:DIR, oci-archive:FILE, docker-archive:FILE, registry:REF or docker:REF",
        )
    reference = None
    if kind in ("registry", "docker"):
        try:
            reference = ImageReference.parse(target)
        except ValueError as exc:
            raise ConfigError(f"invalid image reference in output {text!r}: {exc}", key="--output") from None
        if kind == "registry" and reference.digest is not None:
            raise ConfigError(f"cannot push to a digest: {text!r}", key="--output", hint="push to a tag (REF:TAG)")
    # Checked before the build, so a wrong kind of path costs no build time.
    local = Path(target)
    if kind == "oci" and local.exists() and not local.is_dir():
        raise ConfigError(
            f"{text!r}: exists and is not a directory", key="--output", hint="oci:DIR writes an OCI layout directory"
        )
    if kind in ("oci-archive", "docker-archive") and local.is_dir():
        raise ConfigError(f"{text!r}: is a directory", key="--output", hint=f"{kind}:FILE writes one tar file")
    return OutputSpec(kind=kind, target=target, reference=reference)
