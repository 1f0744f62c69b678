"""Pushing one image: blobs the registry lacks, then the config, then the manifest last.

Like go-containerregistry's ``remote.Write(ref, img)``: it takes the same ``Image`` a
pull gives. Each blob is first looked up (HEAD); one the target repository lacks is
mounted from the repository it was pulled from when that is on the same registry (no
bytes move), and only otherwise uploaded. Uploads run in parallel, bounded. The
manifest goes last, so a tag never points at missing blobs.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO, cast

from layerplan.image.model import Image
from layerplan.oci import Descriptor, Digest, ImageReference
from layerplan.registry.client import Opener, RegistryClient
from layerplan.registry.errors import BlobVerificationError, RegistryNotFoundError

__all__ = ["BlobReport", "BlobStatus", "PushReport", "push_image"]

DEFAULT_WORKERS = 4


class BlobStatus(enum.Enum):
    """What a push did with one blob."""

    PUSHED = "pushed"
    """Uploaded: the registry did not have it."""
    PRESENT = "already present"
    """The repository already had it; nothing was sent."""
    MOUNTED = "mounted"
    """Linked from another repository on the same registry; nothing was sent."""


@dataclass(frozen=True, kw_only=True, slots=True)
class BlobReport:
    """One blob of a push and what happened to it."""

    digest: Digest
    size: int
    media_type: str
    status: BlobStatus
    bytes_uploaded: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class PushReport:
    """The result of ``push_image``."""

    reference: ImageReference
    """Where the image now is, pinned to ``manifest_digest``."""
    manifest_digest: Digest
    blobs: tuple[BlobReport, ...]
    """The layers in manifest order (each distinct digest once), then the config."""

    @property
    def bytes_uploaded(self) -> int:
        """Blob bytes sent (the manifest not counted)."""
        return sum(b.bytes_uploaded for b in self.blobs)

    def count(self, status: BlobStatus) -> int:
        """How many blobs ended with ``status``."""
        return sum(1 for b in self.blobs if b.status is status)


def push_image(
    client: RegistryClient,
    ref: ImageReference,
    image: Image,
    *,
    max_workers: int = DEFAULT_WORKERS,
    on_blob: Callable[[BlobReport], None] | None = None,
) -> PushReport:
    """Push ``image`` (its layers, config, then manifest) to ``ref``; return what each blob did.

    A blob the repository lacks is mounted from its origin (``Layer.origin``, and
    ``Image.origin`` for the config) when that is another repository of the same
    registry, and otherwise uploaded from its opener. ``on_blob`` is called (from
    worker threads) as each blob is settled. The manifest is stored under ``ref``'s
    tag, or its digest when ``ref`` has no tag, and only once every blob is there.

    Raises ``RegistryError`` subclasses: ``BlobVerificationError`` when content or the
    pinned digest do not match the manifest, ``RegistryNotFoundError`` for a blob that
    is neither there, nor mountable, nor readable from where it came. ``ValueError``
    when ``client`` is for another registry (a bug in the caller).
    """
    if ref.registry != client.registry:
        raise ValueError(f"client is for {client.registry}, reference is on {ref.registry}")
    manifest_digest = image.digest
    if ref.digest is not None and ref.digest != manifest_digest:
        raise BlobVerificationError(f"{ref} is pinned to a digest, but the manifest's is {manifest_digest}")

    repository = ref.repository
    # each distinct layer once (a base may repeat one), in manifest order, then the config
    distinct = list({layer.digest: layer for layer in image.layers}.values())
    blobs: list[tuple[Descriptor, Opener, ImageReference | None]] = [
        (layer.descriptor, cast(Opener, layer.opener), layer.origin) for layer in distinct
    ]
    config = image.config
    blobs.append((image.config_descriptor, lambda: io.BytesIO(config), image.origin))

    def settle(desc: Descriptor, opener: Opener, origin: ImageReference | None) -> BlobReport:
        report = _settle_blob(client, repository, desc, opener, _mount_source(origin, client.registry, repository))
        if on_blob is not None:
            on_blob(report)
        return report

    workers = max(1, min(max_workers, len(blobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="layerplan-push") as pool:
        futures = [pool.submit(settle, *blob) for blob in blobs]
        try:
            reports = [f.result() for f in futures]
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise

    client.put_manifest(repository, ref.tag or manifest_digest, image.manifest, image.media_type)
    return PushReport(reference=ref.with_digest(manifest_digest), manifest_digest=manifest_digest, blobs=tuple(reports))


def _settle_blob(
    client: RegistryClient, repository: str, desc: Descriptor, opener: Opener, mount_from: str | None
) -> BlobReport:
    def report(status: BlobStatus, sent: int = 0) -> BlobReport:
        return BlobReport(digest=desc.digest, size=desc.size, media_type=desc.media_type, status=status, bytes_uploaded=sent)

    if client.head_blob(repository, desc.digest) is not None:
        return report(BlobStatus.PRESENT)
    # a mount costs two round trips: only tried for a blob that came from this registry
    if mount_from is not None and client.mount_blob(repository, desc.digest, mount_from):
        return report(BlobStatus.MOUNTED)

    def content() -> BinaryIO:
        try:
            return opener()
        except RegistryNotFoundError as error:
            # a pulled layer that its own repository lacks: say which push needed it
            where = f", nor mountable from {mount_from}" if mount_from else ""
            raise RegistryNotFoundError(
                f"blob {desc.digest} is not in {client.registry}/{repository}{where}, and cannot be read: {error.message}",
                registry=client.registry,
                hint=error.hint or "check that the base image still exists where it was pulled from",
            ) from error

    sent = client.upload_blob(repository, desc.digest, desc.size, content)
    return report(BlobStatus.PUSHED, sent)


def _mount_source(origin: ImageReference | None, registry: str, repository: str) -> str | None:
    """The repository to mount from: the blob's origin, only on the same registry and not the target itself."""
    if origin is None or origin.registry != registry or origin.repository == repository:
        return None
    return origin.repository
