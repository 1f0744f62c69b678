"""Image references (``registry/repository:tag@digest``), parsed once at the edge."""

from __future__ import annotations

import re
from dataclasses import dataclass

from layerplan.oci.digest import Digest
from layerplan.urls import is_loopback_host

__all__ = ["DEFAULT_REGISTRY", "ImageReference"]

DEFAULT_REGISTRY = "docker.io"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageReference:
    """A parsed image reference, normalised like Docker does.

    ``python:3.12-slim`` -> registry ``docker.io``, repository ``library/python``,
    tag ``3.12-slim``.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str) -> ImageReference:
        """Parse ``text``; raise ``ValueError`` saying what is wrong."""
        rest = text.strip()
        if not rest:
            raise ValueError("empty image reference")
        digest = None
        if "@" in rest:
            rest, digest_text = rest.split("@", 1)
            digest = Digest.parse(digest_text)
        tag = None
        last = rest.rsplit("/", 1)[-1]
        if ":" in last:
            rest, tag = rest.rsplit(":", 1)
            if not _TAG.match(tag):
                raise ValueError(f"invalid tag {tag!r} in {text!r}")
        first, _, remainder = rest.partition("/")
        if remainder and ("." in first or ":" in first or first == "localhost"):
            registry, repository = first, remainder
        else:
            registry, repository = DEFAULT_REGISTRY, rest
        if registry == DEFAULT_REGISTRY and "/" not in repository:
            repository = f"library/{repository}"
        if not _REPOSITORY.match(repository):
            raise ValueError(f"invalid repository {repository!r} in {text!r} (lowercase letters, digits, . _ - /)")
        if tag is None and digest is None:
            tag = "latest"
        return cls(registry=registry, repository=repository, tag=tag, digest=digest)

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return str(self.digest) if self.digest else (self.tag or "latest")

    @property
    def is_loopback(self) -> bool:
        """True for a registry on this machine (plain HTTP is allowed there)."""
        return is_loopback_host(self.registry)

    def with_digest(self, digest: Digest) -> ImageReference:
        """The same repository pinned to ``digest`` (the tag is kept for display)."""
        return ImageReference(registry=self.registry, repository=self.repository, tag=self.tag, digest=digest)

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text
