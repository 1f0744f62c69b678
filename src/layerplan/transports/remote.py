"""A registry as a transport: a pull gives an ``Image``, a push takes one.

Like go-containerregistry's ``remote.Image(ref)`` / ``remote.Write(ref, img)``. A pull
fetches and verifies the manifest (an index resolved to the platform) and the config
at once; each layer downloads only when something opens it, and says which repository
it came from, so a push to the same registry mounts it instead. The registry code knows
nothing of the blob cache: the direct build wraps the pulled image in it
(``image.cached.cached_image``). Nor of the store's record of where blobs are: the
context's ``locations`` (``registry.KnownLocations``) learns what a pull read and what a
push did, and offers a push more repositories to mount from.

The registry stack (``requests``) is imported on first use, so parsing specs does not
load it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, ClassVar

from layerplan.cache.scratch import scratch_directory
from layerplan.cache.temps import TempPlace
from layerplan.errors import ConfigError, LayerplanError
from layerplan.image.errors import BaseImageError
from layerplan.image.image_index import ImageIndex
from layerplan.image.index import Platform, resolve_manifest
from layerplan.image.model import Image, Opener
from layerplan.image.referrer import Artifact, referrers_tag
from layerplan.oci.descriptor import Descriptor
from layerplan.oci.digest import Digest
from layerplan.oci.reference import DEFAULT_REGISTRY, ImageReference
from layerplan.transports.spellings import REGISTRY_PREFIX, SPELLINGS
from layerplan.transports.protocol import BlobResult, DocumentCache, OutputResult, TransportContext

if TYPE_CHECKING:
    from layerplan.registry import KnownLocations, RegistryClient
    from layerplan.registry.manifest import FetchedManifest

__all__ = ["REGISTRY_PREFIX", "Registry", "pull_image", "remember_pulled"]


def pull_image(
    client: RegistryClient, reference: ImageReference, platform: Platform | None = None, documents: DocumentCache | None = None
) -> Image:
    """The image ``reference`` names on ``client``'s registry, an index resolved to
    ``platform`` (default: this machine's).

    Manifest and config are fetched and verified now; layers download (verified) each
    time they are opened. ``documents``: where what is fetched by digest (an index's
    platform manifest, the config) is read first and kept, so a rebuild asks the registry
    for the tag alone. Raise ``RegistryError`` subclasses for what the registry says,
    ``BaseImageError`` for no matching platform or a malformed manifest.
    """
    repository, source = reference.repository, str(reference)
    top = client.get_manifest(repository, reference.reference)
    manifest = resolve_manifest(
        top.data,
        lambda descriptor: _by_digest(
            documents, descriptor.digest, lambda: client.get_manifest(repository, descriptor.digest).data
        ),
        platform or Platform.host(),
        media_type=top.media_type,
        source=source,
    )
    try:
        config_descriptor = Descriptor.from_json(json.loads(manifest)["config"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BaseImageError(f"malformed image manifest: {exc}", path=source) from exc
    config = _by_digest(documents, config_descriptor.digest, lambda: client.read_blob(repository, config_descriptor.digest))
    return Image.from_manifest(
        manifest, config, lambda d: _blob_opener(client, repository, d), source=source, origin=reference
    )


_MAX_DOCUMENT = 4 * 1024 * 1024
"""The largest document read back from ``documents``; a bigger one is fetched each time."""


def _by_digest(documents: DocumentCache | None, digest: Digest, fetch: Callable[[], bytes]) -> bytes:
    """The document ``digest`` from ``documents`` (verified there), else ``fetch()``ed (the
    client verifies it) and kept. A cache that cannot keep it only means asking again."""
    if documents is not None and (found := documents.read_verified(digest, _MAX_DOCUMENT)) is not None:
        return found
    data = fetch()
    if documents is not None:
        with contextlib.suppress(LayerplanError, OSError):
            documents.put_bytes(data, digest)
    return data


def remember_pulled(locations: KnownLocations | None, image: Image) -> None:
    """Tell ``locations`` where a pulled image's blobs are: each layer's origin (and the
    image's, for the config). A local image has no origin, and nothing is recorded."""
    if locations is None:
        return
    seen: dict[ImageReference, list[Digest]] = {}
    for layer in image.layers:
        if layer.origin is not None:
            seen.setdefault(layer.origin, []).append(layer.digest)
    if image.origin is not None:
        seen.setdefault(image.origin, []).append(image.config_descriptor.digest)
    for origin, digests in seen.items():
        locations.remember(origin.registry, origin.repository, digests)


def _blob_opener(client: RegistryClient, repository: str, descriptor: Descriptor) -> Opener:
    def open_blob() -> IO[bytes]:
        # get_blob verifies and resumes into a file; the open file outlives its directory
        # (POSIX), so nothing is left behind however the reader ends.
        with scratch_directory("pull") as tmp:
            part = tmp / "blob"
            client.get_blob(repository, descriptor.digest, part, size=descriptor.size)
            return part.open("rb")

    return open_blob


_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
"""A tag (the distribution spec's rule)."""

"""How skopeo (and layerplan) spells a registry: ``docker://ghcr.io/org/app:1``."""

_ENGINE_HINT = (
    "docker:// names a registry (as in skopeo); for an image in the local Docker engine use docker-daemon:NAME"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Registry:
    """An image in a registry: base ``docker://REF`` or a bare ``REF`` (the same image),
    output ``docker://REF`` (a push; REF must have a tag, not a digest), or
    ``docker://REF:TAG,TAG2,...``: one push, the manifest put under each tag."""

    kind: ClassVar[str] = "registry"
    source_prefixes: ClassVar[tuple[str, ...]] = SPELLINGS["registry"].sources
    """And a bare reference: any spec without a transport prefix (``kinds.parse_source``)."""
    sink_prefix: ClassVar[str | None] = SPELLINGS["registry"].sink
    usage: ClassVar[str] = SPELLINGS["registry"].usage
    remote: ClassVar[bool] = True

    spec: str
    """A base's bare reference as written (``docker://`` and bare name the same image, so
    it is annotated and reported the same); an output's ``docker://REF``."""
    reference: ImageReference
    prefixed: bool = False
    """A base written ``docker://REF``: before skopeo's spelling it named the local engine,
    so a base not found says where an engine image goes."""
    extra_tags: tuple[str, ...] = ()
    """An output's other tags (``docker://REF:1.4.0,latest``, or a ``--tag`` in its
    repository): the same manifest is put under each, after ``reference``'s tag."""

    @property
    def tags(self) -> tuple[str, ...]:
        """Every tag an output puts the image under, its reference's first."""
        return tuple(dict.fromkeys(t for t in (self.reference.tag, *self.extra_tags) if t))

    def tagged(self, tag: str) -> Registry:
        """This output with ``tag`` as its reference's tag (an output written without one)."""
        first, sep, rest = self.spec.partition(",")
        return dataclasses.replace(
            self, spec=f"{first}:{tag}{sep}{rest}", reference=dataclasses.replace(self.reference, tag=tag)
        )

    def with_tags(self, tags: Sequence[str]) -> Registry:
        """This output with ``tags`` added to the ones it puts the image under."""
        return dataclasses.replace(self, extra_tags=tuple(dict.fromkeys((*self.extra_tags, *tags))))

    def __str__(self) -> str:
        return self.spec

    @property
    def pinned(self) -> bool:
        return self.reference.digest is not None

    @property
    def tag_implied(self) -> bool:
        """The spec names no tag (the resolution gives a push the project's version)."""
        written = self.spec.removeprefix(REGISTRY_PREFIX).split(",", 1)[0]
        return ":" not in written.rsplit("/", 1)[-1] and "@" not in written

    @classmethod
    def parse_source(cls, spec: str, rest: str) -> Registry:
        try:
            reference = ImageReference.parse(rest)
        except ValueError as exc:
            raise ConfigError(f"invalid base image {spec!r}: {exc}", key="base") from None
        return cls(spec=rest, reference=reference, prefixed=spec.startswith(REGISTRY_PREFIX))

    @classmethod
    def parse_sink(cls, spec: str, rest: str) -> Registry:
        first, *more = rest.split(",")
        try:
            reference = ImageReference.parse(first)
        except ValueError as exc:
            raise ConfigError(f"invalid image reference in output {spec!r}: {exc}", key="--output") from None
        if reference.digest is not None:
            raise ConfigError(f"cannot push to a digest: {spec!r}", key="--output", hint="push to a tag (REF:TAG)")
        for tag in more:
            if not _TAG.match(tag):
                raise ConfigError(
                    f"invalid tag {tag!r} in output {spec!r}", key="--output",
                    hint="name more tags after the first, comma-separated: docker://ghcr.io/org/app:1.4.0,latest",
                )  # fmt: skip
        return cls(spec=f"{REGISTRY_PREFIX}{rest}", reference=reference, extra_tags=tuple(dict.fromkeys(more)))

    @contextlib.contextmanager
    def open(self, platform: Platform | None, context: TransportContext) -> Iterator[Image]:
        from layerplan.registry import RegistryAuthError, RegistryNotFoundError

        try:
            image = pull_image(context.clients.get(self.reference.registry), self.reference, platform, context.documents)
        except (RegistryNotFoundError, RegistryAuthError) as error:
            # Docker Hub answers 401, not 404, for a repository that does not exist.
            if self.prefixed:
                error.hint = f"{_ENGINE_HINT}; {error.hint}" if error.hint else _ENGINE_HINT
            raise
        remember_pulled(context.locations, image)
        yield image

    def temp_places(self) -> tuple[TempPlace, ...]:
        return ()  # a push writes nothing here

    def write(
        self, image: Image, context: TransportContext, *, tags: Sequence[str] = (), referrers: Sequence[Artifact] = ()
    ) -> OutputResult:
        client = context.clients.get(self.reference.registry)
        there, present = _already_there(client, self.reference, self.tags, image, referrers)
        if there is not None:
            return OutputResult(
                spec=self.spec, kind=self.kind, location=str(self.reference), tags=self.tags, unchanged=True,
                attached=tuple((a.artifact_type, str(a.digest)) for a in referrers), attached_via=there or None,
            )  # fmt: skip
        from concurrent.futures import ThreadPoolExecutor

        from layerplan.registry import push_image  # the image is not there: a push, not a no-change rebuild
        from layerplan.registry.referrers import push_referrer_blobs, push_referrers

        repository = self.reference.repository
        # The attachments' blobs (SBOMs, provenance) name no image: they go up while the
        # image does, on a code-change rebuild a few round trips off the path. The tag
        # moves only once they are there too: a failed one leaves it where it was.
        with ThreadPoolExecutor(1, thread_name_prefix="layerplan-attach-blobs") as side:
            blobs_sent = side.submit(push_referrer_blobs, client, repository, referrers)
            report = push_image(
                client, self.reference, image, locations=context.locations, on_bytes=context.sent, present=present,
                before_manifest=blobs_sent.result,
            )  # fmt: skip
            for tag in self.tags[1:]:  # the blobs are there: each other tag is one manifest PUT
                client.put_manifest(repository, tag, image.manifest, image.media_type)
        # after the image: a referrer's subject must be there (and a registry may check)
        via = push_referrers(client, repository, referrers, blobs_sent=True)
        blobs = tuple(
            # BlobStatus.PUSHED/PRESENT/MOUNTED -> the report's "pushed"/"present"/"mounted"
            BlobResult(
                digest=str(b.digest), size=b.size, status=b.status.name.lower(), bytes_uploaded=b.bytes_uploaded,
                mounted_from=b.mounted_from,
            )
            for b in report.blobs
        )
        return OutputResult(
            spec=self.spec, kind=self.kind, location=str(self.reference), blobs=blobs, tags=self.tags,
            attached=tuple((a.artifact_type, str(a.digest)) for a in referrers), attached_via=via,
        )  # fmt: skip

    def write_index(
        self, index: ImageIndex, context: TransportContext, *, tags: Sequence[str] = (), referrers: Sequence[Artifact] = ()
    ) -> OutputResult:
        """Each platform's image by digest (blobs it shares with one pushed before are
        found by HEAD and not sent again), then the index under the tag, then the referrers."""
        from concurrent.futures import ThreadPoolExecutor

        from layerplan.registry import push_image
        from layerplan.registry.referrers import push_referrer_blobs, push_referrers

        client = context.clients.get(self.reference.registry)
        by_digest = dataclasses.replace(self.reference, tag=None, digest=None)
        seen: dict[str, BlobResult] = {}
        with ThreadPoolExecutor(1, thread_name_prefix="layerplan-attach-blobs") as side:  # as in write()
            blobs_sent = side.submit(push_referrer_blobs, client, self.reference.repository, referrers)
            for image in index.images:
                report = push_image(client, by_digest, image, locations=context.locations, on_bytes=context.sent)
                for b in report.blobs:
                    # A shared layer counts once: as the first platform's push left it.
                    seen.setdefault(
                        str(b.digest),
                        BlobResult(
                            digest=str(b.digest), size=b.size, status=b.status.name.lower(),
                            bytes_uploaded=b.bytes_uploaded, mounted_from=b.mounted_from,
                        ),  # fmt: skip
                    )
            blobs_sent.result()  # before any tag moves, as in write()
            # the index last: its tags never name a manifest the registry lacks
            for tag in self.tags or (self.reference.tag or str(index.digest),):
                client.put_manifest(self.reference.repository, tag, index.manifest, index.media_type)
        via = push_referrers(client, self.reference.repository, referrers, blobs_sent=True)
        return OutputResult(
            spec=self.spec, kind=self.kind, location=str(self.reference), blobs=tuple(seen.values()), tags=self.tags,
            attached=tuple((a.artifact_type, str(a.digest)) for a in referrers), attached_via=via,
        )  # fmt: skip

def _already_there(
    client: RegistryClient, reference: ImageReference, tags: Sequence[str], image: Image, referrers: Sequence[Artifact]
) -> tuple[str | None, frozenset[Digest]]:
    """(how the registry lists ``referrers``, ``""`` when there are none, or ``None``; the
    blobs the repository is known to hold).

    The first is not ``None`` when every one of ``tags`` already names ``image`` and every
    referrer is listed for it; ``None`` when anything is missing or the registry cannot
    tell, and the image is pushed as usual. The blobs are those of the image manifest the
    first tag names now (the last build's, on a rebuild): a registry keeps the blobs of every
    manifest it holds, so the push needs no HEAD for them.

    One GET of the first tag (a HEAD on Docker Hub), one HEAD per other tag; with
    attachments, one read of the referrers API (and, on a registry without it, of the
    referrers tag).
    """
    from layerplan.registry import RegistryError, RegistryNotFoundError

    repository = reference.repository
    to_check = list(tags or (str(image.digest),))
    known: frozenset[Digest] = frozenset()
    # Docker Hub counts every manifest GET as a pull against the account's rate limit:
    # there every tag gets a HEAD, and the push looks each blob up.
    if reference.registry != DEFAULT_REGISTRY:
        try:
            current = client.get_manifest(repository, to_check.pop(0), for_push=True)
        except RegistryError:
            return None, known  # not there (or the push will say what is wrong)
        known = _blobs_of(current)
        if current.digest != image.digest:
            return None, known
    try:
        for tag in to_check:
            if client.head_manifest(repository, tag, for_push=True) != image.digest:
                return None, known
        if not referrers:
            return "", known
        listed = client.get_referrers(repository, image.digest)
        via = "referrers API"
        if listed is None:
            via = f"tag {referrers_tag(image.digest)}"
            try:
                listed = json.loads(client.get_manifest(repository, referrers_tag(image.digest)).data)
            except (RegistryNotFoundError, ValueError):
                return None, known
    except RegistryError:
        return None, known
    entries = listed.get("manifests") if isinstance(listed, dict) else None
    digests = {str(e.get("digest")) for e in entries or [] if isinstance(e, dict)}
    return (via if all(str(a.digest) in digests for a in referrers) else None), known


def _blobs_of(manifest: FetchedManifest) -> frozenset[Digest]:
    """The config and layers of an image manifest; none for an index or what does not parse
    (then every blob is looked up, as before)."""
    if manifest.is_index:
        return frozenset()
    try:
        document = manifest.json()
        descriptors = [document["config"], *document["layers"]]
        return frozenset(Digest.parse(str(d["digest"])) for d in descriptors)
    except (ValueError, KeyError, TypeError):
        return frozenset()
