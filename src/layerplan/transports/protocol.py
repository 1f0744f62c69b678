"""The one protocol of every transport: a source opens an ``Image``, a sink takes one.

Like go-containerregistry's ``remote.Image(ref)`` / ``remote.Write(ref, img)`` and ko's
publishers (``pkg/publish/{layout,tarball,daemon,default}.go``): one small class per
kind (``OciLayout``, ``OciArchive``, ``DockerArchive``, ``DockerEngine``, ``Registry``),
each parsed from a spec (``kinds.parse_source`` / ``kinds.parse_output``), each giving
or taking the same ``layerplan.image.Image``. ``str()`` of a source or sink is the spec
as the user wrote it, in the current spelling (``kinds`` rewrites an old one); a registry
source's is its bare reference, however it was written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from layerplan.cache.temps import TempPlace
from layerplan.image.image_index import ImageIndex
from layerplan.image.index import Platform
from layerplan.image.model import Image
from layerplan.image.platform_record import ARTIFACT_TYPE as RECORD_TYPE
from layerplan.image.referrer import IN_TOTO_MEDIA_TYPE, Artifact
from layerplan.oci.digest import Digest
from layerplan.oci.reference import ImageReference
from layerplan.transports.clients import ClientPool

if TYPE_CHECKING:  # the registry stack loads on first use (transports.clients)
    from layerplan.registry.mounts import KnownLocations

__all__ = ["BlobResult", "DocumentCache", "ImageSink", "ImageSource", "OutputResult", "TransportContext", "TransportKind"]


class DocumentCache(Protocol):
    """Where a pull keeps the documents it reads by digest (a platform's manifest, a
    config): they never change, so a later pull reads them here instead of asking the
    registry again. The blob cache (``cache.blobs.BlobCache``) is one."""

    def read_verified(self, digest: Digest, max_size: int) -> bytes | None: ...

    def put_bytes(self, data: bytes, expected: Digest | None = None) -> Digest: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class TransportContext:
    """What the sources and sinks of one build share; connections open on first use."""

    clients: ClientPool = field(default_factory=ClientPool)
    """Registry clients, one per host (with the build's insecure hosts)."""
    docker: Any = None
    """A ``docker.DockerClient``; ``None``: from the environment (``DOCKER_HOST``) when needed."""
    locations: KnownLocations | None = None
    """Where blobs were seen (the store's ``locations``): a pull records what it read, a push
    mounts from it and records what it did; ``None``: remember nothing."""
    sent: Callable[[int], None] | None = None
    """Told of the bytes a push sends, as they go (the build's progress); ``None``: nobody asks."""
    documents: DocumentCache | None = None
    """Where a pull reads and keeps what it fetches by digest; ``None``: fetch every time."""


@dataclass(frozen=True, kw_only=True, slots=True)
class BlobResult:
    """One blob of a push: ``pushed``, ``present`` (already there) or ``mounted``."""

    digest: str
    size: int
    status: str
    bytes_uploaded: int
    mounted_from: str | None = None
    """For ``mounted``: the repository of the same registry it was linked from."""


@dataclass(frozen=True, kw_only=True, slots=True)
class OutputResult:
    """What one sink did (a row of the build report)."""

    spec: str
    kind: str
    location: str
    blobs: tuple[BlobResult, ...] = field(default_factory=tuple)
    """Registry pushes only: every blob, layers then config."""
    tags: tuple[str, ...] = ()
    """Registry pushes only: every tag the manifest was put under."""
    attached: tuple[tuple[str, str], ...] = ()
    """What was attached about the image (SBOMs, provenance, the base's platform record
    in a registry): (artifact type, where it
    went: the artifact manifest's digest in a registry, or the file written beside an
    ``oci:``/``oci-archive:`` output)."""
    attached_via: str | None = None
    """``referrers API`` (the registry indexes them by subject), ``tag sha256-<hex>`` (the
    referrers tag, for a registry without that API) or ``files``; ``None``: none attached."""
    unchanged: bool = False
    """The output already held this very image (and its SBOMs): nothing was sent or written."""

    @property
    def status(self) -> str:
        """``unchanged``, else what was done: ``pushed``, ``loaded`` or ``written``."""
        if self.unchanged:
            return "unchanged"
        return {"registry": "pushed", "docker": "loaded"}.get(self.kind, "written")

    @property
    def sboms(self) -> tuple[str, ...]:
        """Where the SBOMs went (the attachments that are neither in-toto statements nor
        the base's platform record)."""
        return tuple(where for kind, where in self.attached if kind not in (IN_TOTO_MEDIA_TYPE, RECORD_TYPE))

    @property
    def platform_record(self) -> str | None:
        """Where the base's platform record went (a registry push), if it was attached."""
        return next((where for kind, where in self.attached if kind == RECORD_TYPE), None)

    @property
    def sbom_via(self) -> str | None:
        return self.attached_via if self.sboms else None

    @property
    def provenance(self) -> str | None:
        """Where the provenance (an in-toto statement) went, if one was attached."""
        return next((where for kind, where in self.attached if kind == IN_TOTO_MEDIA_TYPE), None)

    @property
    def bytes_uploaded(self) -> int:
        """Blob bytes sent to the registry (the manifest not counted)."""
        return sum(blob.bytes_uploaded for blob in self.blobs)

    @property
    def bytes_mounted(self) -> int:
        """Blob bytes the registry linked from other repositories instead: not sent."""
        return sum(blob.size for blob in self.blobs if blob.status == "mounted")

    def count(self, status: str) -> int:
        return sum(1 for blob in self.blobs if blob.status == status)


class ImageSource(Protocol):
    """Where an image comes from (a base image)."""

    @property
    def kind(self) -> str:
        """The transport's name (``oci``, ``registry``...)."""

    @property
    def remote(self) -> bool:
        """True when its layers cross the network on every open: worth wrapping in the blob
        cache (``image.cached.cached_image``)."""

    @property
    def reference(self) -> ImageReference | None:
        """Where it lives in a registry, as written; ``None`` for a local source."""

    @property
    def pinned(self) -> bool:
        """True when nothing can move under the spec: a digest, or a local file or engine image."""

    def open(self, platform: Platform | None, context: TransportContext) -> AbstractContextManager[Image]:
        """The image (an index resolved to ``platform``), usable while the block runs: layers
        open lazily and may need what the block holds (the engine's temporary save file).

        Raise ``BaseImageError`` when the source has no usable image, a ``RegistryError``
        or ``DaemonError`` when it cannot be reached.
        """


class ImageSink(Protocol):
    """Where an image goes (an output)."""

    @property
    def kind(self) -> str:
        """The transport's name, as the report shows it."""

    def write(
        self, image: Image, context: TransportContext, *, tags: Sequence[str] = (), referrers: Sequence[Artifact] = ()
    ) -> OutputResult:
        """Write, push or load ``image``; say what was done. ``tags`` are the build's extra
        names (the layout's ref name, a docker-archive's RepoTags); sinks that name the
        image in their spec ignore them. ``referrers`` are artifacts about the image (its
        SBOMs, its provenance): a registry stores them as referrers, ``oci:``/``oci-archive:`` write
        their documents beside the output; the Docker engine and docker-archive drop them.

        Never leaves a half-written output. Raise ``OutputError`` (or a ``RegistryError``,
        ``DaemonError``) on failure.
        """

    def write_index(
        self, index: ImageIndex, context: TransportContext, *, tags: Sequence[str] = (), referrers: Sequence[Artifact] = ()
    ) -> OutputResult:
        """Write, push or load the images of several platforms: as one index where the kind
        can hold one (a registry, ``oci:``, ``oci-archive:``), the engine's own platform
        into the Docker engine; ``referrers`` are about the platforms' images (each its
        ``subject``). Raise ``OutputError`` where the kind holds one image only."""

    def temp_places(self) -> tuple[TempPlace, ...]:
        """Where :meth:`write` makes its temporaries (none for a push or a load), for the
        sweep of those a killed build left (``cache.sweep``)."""


class TransportKind(Protocol):
    """A transport class (the class object, not an instance): how its specs are spelled,
    and how to parse one. ``kinds.KINDS`` lists them."""

    @property
    def source_prefixes(self) -> tuple[str, ...]:
        """Base image specs it reads, by prefix, as skopeo spells them (``oci:``); empty
        for a sink-only kind. Old spellings are ``kinds``' business."""

    @property
    def sink_prefix(self) -> str | None:
        """The prefix of the outputs it writes (``oci:`` for ``oci:DIR``); ``None`` for a
        source-only kind."""

    @property
    def usage(self) -> str:
        """The output spec's shape, for hints (``oci:DIR``)."""

    def parse_source(self, spec: str, rest: str) -> ImageSource:
        """The source ``spec`` names (``rest``: after the prefix); raise ``ConfigError``."""

    def parse_sink(self, spec: str, rest: str) -> ImageSink:
        """The sink ``spec`` names (``rest``: after the prefix); raise ``ConfigError``."""
