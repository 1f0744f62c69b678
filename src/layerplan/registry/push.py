"""Pushing one image: blobs the registry lacks, then the config, then the manifest last.

Like go-containerregistry's ``remote.Write``: each layer is first looked up (HEAD); one
the target repository lacks is mounted from the base image's repository when that is
on the same registry (no bytes move), and only otherwise uploaded. Uploads run in
parallel, bounded. The manifest goes last, so a tag never points at missing blobs.
"""

from __future__ import annotations

import enum
import io
import json
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from layerplan.oci import Descriptor, Digest, ImageReference
from layerplan.oci.descriptor import MediaType
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
    manifest_bytes: bytes,
    config_bytes: bytes,
    layers: Sequence[tuple[Descriptor, Opener | None]],
    base_repo: ImageReference | str | None = None,
    *,
    max_workers: int = DEFAULT_WORKERS,
    on_blob: Callable[[BlobReport], None] | None = None,
    mountable: Collection[Digest] | None = None,
) -> PushReport:
    """Push an image manifest with its config and layers to ``ref``.

    ``layers`` gives the content of layers by descriptor; a layer of the manifest with
    no opener (``None``, or not listed at all, like a base image's layer) must already
    be in the repository or be mountable from ``base_repo``. ``mountable`` (default: all)
    limits mount attempts to the blobs the base repository can have. ``on_blob`` is called (from
    worker threads) as each blob is settled. The manifest is stored under ``ref``'s tag,
    or its digest when ``ref`` has no tag.

    Raises ``RegistryError`` subclasses: ``BlobVerificationError`` when content or the
    pinned digest do not match the manifest, ``RegistryNotFoundError`` for a base layer
    that is neither there nor mountable. A manifest that is not JSON, or that does not
    list a given layer, is a ``ValueError`` (a bug in the caller).
    """
    if ref.registry != client.registry:
        raise ValueError(f"client is for {client.registry}, reference is on {ref.registry}")
    manifest = _parse_manifest(manifest_bytes)
    media_type = str(manifest.get("mediaType") or MediaType.OCI_MANIFEST)
    manifest_digest = Digest.of_bytes(manifest_bytes)
    if ref.digest is not None and ref.digest != manifest_digest:
        raise BlobVerificationError(f"{ref} is pinned to a digest, but the manifest's is {manifest_digest}")
    config = Descriptor.from_json(manifest["config"])
    if Digest.of_bytes(config_bytes) != config.digest or len(config_bytes) != config.size:
        raise BlobVerificationError(f"the config given is not the one the manifest names ({config.digest})")

    openers = {desc.digest: opener for desc, opener in layers}
    in_manifest = [Descriptor.from_json(item) for item in manifest.get("layers") or []]
    unknown = set(openers) - {d.digest for d in in_manifest}
    if unknown:
        raise ValueError(f"layers not in the manifest: {', '.join(sorted(map(str, unknown)))}")
    distinct = list({d.digest: d for d in in_manifest}.values())

    repository = ref.repository
    mount_from = _mount_source(base_repo, client.registry, repository)

    def settle(desc: Descriptor, opener: Opener | None) -> BlobReport:
        # a mount attempt costs two round trips: only try it for blobs the base can have
        source = mount_from if mountable is None or desc.digest in mountable else None
        report = _settle_blob(client, repository, desc, opener, source)
        if on_blob is not None:
            on_blob(report)
        return report

    workers = max(1, min(max_workers, len(distinct) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="layerplan-push") as pool:
        futures = [pool.submit(settle, d, openers.get(d.digest)) for d in distinct]
        futures.append(pool.submit(settle, config, lambda: io.BytesIO(config_bytes)))
        try:
            reports = [f.result() for f in futures]
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise

    if ref.tag:
        client.put_manifest(repository, ref.tag, manifest_bytes, media_type)
    else:
        client.put_manifest(repository, manifest_digest, manifest_bytes, media_type)
    return PushReport(reference=ref.with_digest(manifest_digest), manifest_digest=manifest_digest, blobs=tuple(reports))


def _settle_blob(
    client: RegistryClient, repository: str, desc: Descriptor, opener: Opener | None, mount_from: str | None
) -> BlobReport:
    def report(status: BlobStatus, sent: int = 0) -> BlobReport:
        return BlobReport(digest=desc.digest, size=desc.size, media_type=desc.media_type, status=status, bytes_uploaded=sent)

    if client.head_blob(repository, desc.digest) is not None:
        return report(BlobStatus.PRESENT)
    if mount_from is not None and client.mount_blob(repository, desc.digest, mount_from):
        return report(BlobStatus.MOUNTED)
    if opener is None:
        where = f" nor in {mount_from}" if mount_from else ""
        raise RegistryNotFoundError(
            f"blob {desc.digest} is not in {client.registry}/{repository}{where}, and its content was not given",
            registry=client.registry,
            hint="push to the registry that holds the base image, or build with the base layers fetched",
        )
    sent = client.upload_blob(repository, desc.digest, desc.size, opener)
    return report(BlobStatus.PUSHED, sent)


def _mount_source(base_repo: ImageReference | str | None, registry: str, repository: str) -> str | None:
    """The repository to mount from: only on the same registry, and not the target itself."""
    if base_repo is None:
        return None
    if isinstance(base_repo, ImageReference):
        if base_repo.registry != registry:
            return None
        base_repo = base_repo.repository
    return base_repo if base_repo != repository else None


def _parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except ValueError as error:
        raise ValueError(f"manifest is not JSON: {error}") from error
    if not isinstance(manifest, dict) or "config" not in manifest:
        raise ValueError("manifest has no config: push_image pushes image manifests, not indexes")
    if manifest.get("mediaType") in MediaType.INDEXES:
        raise ValueError("push_image pushes image manifests, not indexes")
    return manifest

