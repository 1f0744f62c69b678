"""How each transport is spelled, as skopeo spells it: said once here, read by each class
(``source_prefixes``, ``sink_prefix``, ``usage``) and by the parsers' table in ``kinds``,
which finds a spec's kind without importing every kind's module."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["REGISTRY_PREFIX", "SPELLINGS", "Spelling"]

REGISTRY_PREFIX = "docker://"


class Spelling(NamedTuple):
    sources: tuple[str, ...]
    """Prefixes of a base image spec of this kind."""
    sink: str | None
    """Prefix of an output of this kind (``None``: not an output)."""
    usage: str
    """How an output of this kind is written, for hints."""


SPELLINGS: dict[str, Spelling] = {
    "oci": Spelling(("oci:",), "oci:", "oci:DIR"),
    "oci-archive": Spelling(("oci-archive:",), "oci-archive:", "oci-archive:FILE"),
    "docker-archive": Spelling(("docker-archive:",), "docker-archive:", "docker-archive:FILE"),
    "registry": Spelling((REGISTRY_PREFIX,), REGISTRY_PREFIX, "docker://REF"),
    "docker": Spelling(("docker-daemon:",), "docker-daemon:", "docker-daemon:REF"),
}
"""Transport kind (the class's ``kind``) -> its spelling."""
