"""``pkg:oci`` purls for images pinned by digest (the base image)."""

from __future__ import annotations

from urllib.parse import quote

from layerplan.transports import registry_reference

__all__ = ["oci_purl"]


def oci_purl(name: str, digest: str) -> str | None:
    """``pkg:oci/<last path segment>@<digest>?repository_url=<registry/repository>`` (purl
    spec, type ``oci``), for a registry reference; ``None`` for a local base (``oci:DIR``,
    ``docker-daemon:``...), which has no repository to name."""
    if name.startswith(("oci:", "oci-archive:", "docker-daemon:", "docker-archive:")):
        return None
    try:
        reference = registry_reference(name)
    except ValueError:  # a spec that is not a reference: no purl, the name is still recorded
        return None
    repository = f"{reference.registry}/{reference.repository}"
    last = reference.repository.rsplit("/", 1)[-1].lower()
    return f"pkg:oci/{quote(last, safe='')}@{quote(digest, safe='')}?repository_url={quote(repository, safe='/')}"
