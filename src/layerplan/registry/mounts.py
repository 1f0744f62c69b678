"""Where a push may mount a blob from: the blob's origin, then the repositories known to hold it.

A registry answers "does *this* repository have the blob" and nothing more, so a push
into ``service-b`` of a layer that ``service-a`` holds would upload it again. A memory of
where blobs were seen (the store's ``locations`` area, ``cache.BlobLocations``) gives the
push other candidates. The registry code knows nothing of the store: it takes anything
with :class:`KnownLocations`' three methods, as ``image.cached`` wraps an image without
the image knowing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from layerplan.oci import Digest, ImageReference

__all__ = ["MAX_MOUNT_TRIES", "KnownLocations", "mount_candidates"]

MAX_MOUNT_TRIES = 3
"""Mounts tried per blob before uploading it: a declined mount costs two round trips
(the registry opens an upload session, which is then cancelled)."""


class KnownLocations(Protocol):
    """Which repositories of a registry hold a blob, as far as anyone remembers."""

    def repositories(self, registry: str, digest: Digest) -> Sequence[str]:
        """The repositories of ``registry`` believed to hold ``digest``, most recently seen first."""
        ...

    def remember(self, registry: str, repository: str, digests: Iterable[Digest]) -> None:
        """``registry/repository`` holds ``digests`` (a push put or found them there, a pull read them)."""
        ...

    def forget(self, registry: str, repository: str, digests: Iterable[Digest]) -> None:
        """``registry/repository`` does not hold ``digests`` after all (the registry declined a mount)."""
        ...


def mount_candidates(
    digest: Digest,
    origin: ImageReference | None,
    target: ImageReference,
    known: KnownLocations | None,
    *,
    limit: int = MAX_MOUNT_TRIES,
) -> tuple[str, ...]:
    """The repositories of ``target``'s registry to mount ``digest`` from, in the order to try:
    the origin it was pulled from, then those ``known`` to hold it, most recent first;
    never the target repository itself, each once, at most ``limit``."""
    registry = target.registry
    first = (origin.repository,) if origin is not None and origin.registry == registry else ()
    recorded = tuple(known.repositories(registry, digest)) if known is not None else ()
    ordered = dict.fromkeys(r for r in (*first, *recorded) if r != target.repository)
    return tuple(ordered)[:limit]
