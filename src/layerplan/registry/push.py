"""Pushing one image: blobs the registry lacks, then the config, then the manifest last.

Like go-containerregistry's ``remote.Write(ref, img)``: it takes the same ``Image`` a
pull gives. Each blob is first looked up (HEAD); one the target repository lacks is
mounted from another repository of the same registry (no bytes move) -- the one it was
pulled from, then those known to hold it (``mounts.mount_candidates``) -- and only
otherwise uploaded. Uploads run in parallel, bounded. The manifest goes last, so a tag
never points at missing blobs. What the push learnt (the target now holds every blob; a
candidate declined) is handed to the ``KnownLocations`` it was given, for the next push.
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
from layerplan.registry.errors import BlobVerificationError, RegistryError, RegistryNotFoundError
from layerplan.registry.mounts import KnownLocations, mount_candidates

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
    mounted_from: str | None = None
    """The repository (same registry) a ``MOUNTED`` blob was linked from."""


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

    @property
    def bytes_mounted(self) -> int:
        """Blob bytes linked from other repositories instead of being sent."""
        return sum(b.size for b in self.blobs if b.status is BlobStatus.MOUNTED)

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
    locations: KnownLocations | None = None,
    on_bytes: Callable[[int], None] | None = None,
    present: frozenset[Digest] = frozenset(),
    before_manifest: Callable[[], object] | None = None,
) -> PushReport:
    """Push ``image`` (its layers, config, then manifest) to ``ref``; return what each blob did.

    A blob the repository lacks is mounted from another repository of the same registry
    when one has it: its origin (``Layer.origin``, and ``Image.origin`` for the config)
    first, then the repositories ``locations`` knows, most recent first, at most
    ``mounts.MAX_MOUNT_TRIES``; a mount the registry declines (or that the credentials
    may not read from) moves on to the next, and then to an upload from the blob's
    opener. ``on_blob`` is called (from worker threads) as each blob is settled, and
    ``on_bytes`` with each piece of an upload as it is read to be sent (a try that starts
    over first takes back what the failed one counted). Once
    every blob is there, ``locations`` learns that ``ref``'s repository holds them all
    and forgets the candidates that declined; then the manifest is stored under
    ``ref``'s tag, or its digest when ``ref`` has no tag. ``present``: blobs the caller
    knows the repository holds (those of the manifest its tag names now: a registry keeps
    the blobs of every manifest it holds), counted present without a HEAD.
    ``before_manifest`` is called once every blob is there, before the manifest goes up:
    what it raises stops the push with the tag not moved (the caller's other uploads).

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

    def settle(desc: Descriptor, opener: Opener, origin: ImageReference | None) -> _Settled:
        if desc.digest in present:
            settled = _Settled(report=BlobReport(
                digest=desc.digest, size=desc.size, media_type=desc.media_type, status=BlobStatus.PRESENT
            ))  # fmt: skip
            if on_blob is not None:
                on_blob(settled.report)
            return settled
        counted = _counted(opener, on_bytes) if on_bytes is not None else opener
        settled = _settle_blob(client, repository, desc, counted, lambda: mount_candidates(desc.digest, origin, ref, locations))
        if on_blob is not None:
            on_blob(settled.report)
        return settled

    # Blobs known present are settled here; a thread each only for those that need the
    # registry (on a code change, 2 of 10: starting the other 8 threads cost ~10 ms).
    asking = [blob for blob in blobs if blob[0].digest not in present]
    by_digest: dict[Digest, _Settled] = {}
    if asking:
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(asking))), thread_name_prefix="layerplan-push") as pool:
            futures = [pool.submit(settle, *blob) for blob in asking]
            try:
                by_digest = {blob[0].digest: future.result() for blob, future in zip(asking, futures)}
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    settled = [by_digest[blob[0].digest] if blob[0].digest in by_digest else settle(*blob) for blob in blobs]

    if locations is not None:
        # Every blob is in the repository now, whether the manifest goes up or not.
        for source, digests in _declined(settled).items():
            locations.forget(client.registry, source, digests)
        locations.remember(client.registry, repository, (s.report.digest for s in settled))
    if before_manifest is not None:
        before_manifest()
    client.put_manifest(repository, ref.tag or manifest_digest, image.manifest, image.media_type)
    reports = tuple(s.report for s in settled)
    return PushReport(reference=ref.with_digest(manifest_digest), manifest_digest=manifest_digest, blobs=reports)


class _CountedStream:
    """A blob's stream that tells ``on_bytes`` of what is read from it."""

    def __init__(self, stream: BinaryIO, on_bytes: Callable[[int], None], read_so_far: list[int]) -> None:
        self._stream = stream
        self._on_bytes = on_bytes
        self._read = read_so_far

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            self._read[0] += len(data)
            self._on_bytes(len(data))
        return data

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> _CountedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _counted(opener: Opener, on_bytes: Callable[[int], None]) -> Opener:
    read_so_far = [0]

    def open_counted() -> BinaryIO:
        stream = opener()
        if read_so_far[0]:  # a new try from the start: what the last one read is not sent
            on_bytes(-read_so_far[0])
            read_so_far[0] = 0
        return cast(BinaryIO, _CountedStream(stream, on_bytes, read_so_far))

    return open_counted


@dataclass(frozen=True, kw_only=True, slots=True)
class _Settled:
    report: BlobReport
    declined: tuple[str, ...] = ()
    """Repositories the registry said do not have the blob (it opened an upload instead)."""


def _declined(settled: list[_Settled]) -> dict[str, list[Digest]]:
    by_source: dict[str, list[Digest]] = {}
    for one in settled:
        for source in one.declined:
            by_source.setdefault(source, []).append(one.report.digest)
    return by_source


def _settle_blob(
    client: RegistryClient, repository: str, desc: Descriptor, opener: Opener, candidates: Callable[[], tuple[str, ...]]
) -> _Settled:
    def report(status: BlobStatus, sent: int = 0, source: str | None = None) -> BlobReport:
        return BlobReport(
            digest=desc.digest, size=desc.size, media_type=desc.media_type, status=status, bytes_uploaded=sent,
            mounted_from=source,
        )

    if client.head_blob(repository, desc.digest) is not None:
        return _Settled(report=report(BlobStatus.PRESENT))
    sources = candidates()  # read only for a blob the repository lacks: most are there on a rebuild
    declined: list[str] = []
    for source in sources:
        try:
            if client.mount_blob(repository, desc.digest, source):
                return _Settled(report=report(BlobStatus.MOUNTED, source=source), declined=tuple(declined))
            declined.append(source)
        except RegistryError as error:
            # A source these credentials may not read (401/403), or a name the registry
            # refuses (a stale record): just a mount that did not happen. A failing
            # registry (5xx after retries, no answer) fails the upload too: say so now.
            if error.temporary:
                raise

    def content() -> BinaryIO:
        try:
            return opener()
        except RegistryNotFoundError as error:
            # a pulled layer that its own repository lacks: say which push needed it
            where = f", nor mountable from {', '.join(sources)}" if sources else ""
            raise RegistryNotFoundError(
                f"blob {desc.digest} is not in {client.registry}/{repository}{where}, and cannot be read: {error.message}",
                registry=client.registry,
                hint=error.hint or "check that the base image still exists where it was pulled from",
            ) from error

    sent = client.upload_blob(repository, desc.digest, desc.size, content)
    return _Settled(report=report(BlobStatus.PUSHED, sent), declined=tuple(declined))
