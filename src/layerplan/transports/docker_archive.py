"""``docker save`` archives: what ``docker load`` reads.

Written as an OCI layout plus Docker's ``manifest.json`` (as Docker 25+ saves), so the
same file is also a valid ``oci-archive``. Layers stay gzip-compressed: ``docker load``
(checked on 20.10) decompresses them and verifies each against the config's diff_ids.

Read: both the classic layout (``<id>/layer.tar``, plain tars, links between them) and
the newer one; plain layers get their diff_id as digest, gzip ones are hashed once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

from layerplan.cache.atomic import atomic_write
from layerplan.cache.temps import TempPlace
from layerplan.image.errors import BaseImageError
from layerplan.image.image_index import ImageIndex
from layerplan.image.index import Platform
from layerplan.image.manifest import build_manifest
from layerplan.image.model import Image, Layer
from layerplan.image.referrer import Artifact
from layerplan.oci.descriptor import Descriptor, MediaType
from layerplan.oci.digest import Digest, canonical_json
from layerplan.oci.reference import DEFAULT_REGISTRY, ImageReference
from layerplan.transports._archive import ArchiveIndex
from layerplan.transports._files import LocalTransport, refuse_directory, siblings_of, split_path_ref, writing
from layerplan.transports._layout import blob_name
from layerplan.transports.oci_archive import archive_holds, stream_layout_tar
from layerplan.transports.errors import OutputError
from layerplan.transports.spellings import SPELLINGS
from layerplan.transports.protocol import OutputResult, TransportContext

__all__ = ["DockerArchive", "docker_tag", "read_docker_archive", "stream_docker_archive", "write_docker_archive"]


def docker_tag(text: str) -> str:
    """``name:tag`` as Docker prints it (``docker.io/library/`` dropped, ``:latest`` added).

    Raise ``ValueError`` for an invalid reference or one pinned by digest only.
    """
    ref = ImageReference.parse(text)
    if ref.tag is None:
        raise ValueError(f"{text!r} has no tag; docker load needs name:tag")
    name = ref.repository
    if ref.registry != DEFAULT_REGISTRY:
        name = f"{ref.registry}/{name}"
    elif name.startswith("library/"):
        name = name[len("library/"):]
    return f"{name}:{ref.tag}"


def _manifest_json(image: Image, tags: Sequence[str]) -> bytes:
    entry = {
        "Config": blob_name(image.config_descriptor.digest),
        "RepoTags": [docker_tag(t) for t in tags] or None,
        "Layers": [blob_name(layer.digest) for layer in image.layers],
    }
    return canonical_json([entry])


def _layout_parts(image: Image, tags: Sequence[str]) -> tuple[str | None, list[tuple[str, bytes]]]:
    """The layout's ref name and the extra file (``manifest.json``) of the archive."""
    first = docker_tag(tags[0]) if tags else None
    return first, [("manifest.json", _manifest_json(image, tags))]


def stream_docker_archive(image: Image, out: IO[bytes], *, tags: Sequence[str] = ()) -> None:
    """Write ``image`` as a docker-archive to ``out`` (for ``docker load``)."""
    ref_name, extra = _layout_parts(image, tags)
    stream_layout_tar(image, out, ref_name=ref_name, extra=extra)


def write_docker_archive(image: Image, file: Path, *, tags: Sequence[str] = ()) -> None:
    """Write ``image`` as a docker-archive to ``file`` (atomically), tagged ``tags``."""
    with atomic_write(Path(file)) as out:
        stream_docker_archive(image, out, tags=tags)


def _choose(entries: list[dict[str, Any]], tag: str | None, source: str) -> dict[str, Any]:
    if tag is not None:
        wanted = docker_tag(tag)
        for entry in entries:
            if wanted in [docker_tag(t) for t in entry.get("RepoTags") or []]:
                return entry
        raise BaseImageError(f"the archive has no image tagged {wanted}", path=source)
    if len(entries) == 1:
        return entries[0]
    tags = [t for e in entries for t in e.get("RepoTags") or []]
    raise BaseImageError(
        f"the archive holds {len(entries)} images; say which (it has: {', '.join(tags) or 'untagged images'})",
        path=source,
        hint="write docker-archive:FILE:NAME:TAG",
    )


def read_docker_archive(file: Path, *, tag: str | None = None, platform: Platform | None = None) -> Image:
    """The image in the docker-archive ``file`` (by ``tag`` when it holds several).

    The manifest is synthesised (OCI, canonical), since a docker-archive carries none.
    """
    source = str(file)
    archive = ArchiveIndex(Path(file))
    try:
        entries = json.loads(archive.read("manifest.json"))
        entry = _choose(list(entries), tag, source)
        config = archive.read(str(entry["Config"]))
        diff_ids = [Digest.parse(d) for d in json.loads(config)["rootfs"]["diff_ids"]]
        paths = [str(p) for p in entry["Layers"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise BaseImageError(f"malformed docker-archive: {exc}", path=source) from exc
    if len(paths) != len(diff_ids):
        raise BaseImageError("the archive's manifest.json and config disagree on the layers", path=source)
    layers = []
    for path, diff_id in zip(paths, diff_ids):
        with archive.open(path) as handle:
            head = handle.read(2)
            if head == b"\x1f\x8b":
                digest = hashlib.sha256(head)
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
                descriptor = Descriptor(
                    media_type=MediaType.OCI_LAYER_GZIP, digest=Digest("sha256", digest.hexdigest()), size=archive.size(path)
                )
            else:  # a plain tar: docker load checked it hashes to its diff_id
                descriptor = Descriptor(media_type=MediaType.OCI_LAYER_TAR, digest=diff_id, size=archive.size(path))
        layers.append(Layer(descriptor=descriptor, diff_id=diff_id, opener=lambda p=path: archive.open(p)))  # type: ignore[misc]
    manifest = build_manifest(config=config, layers=[layer.descriptor for layer in layers])
    image = Image(manifest=manifest, config=config, layers=tuple(layers))
    if platform is not None and not image.platform.matches(platform):
        raise BaseImageError(f"the image is {image.platform}, not the requested {platform}", path=source)
    return image


@dataclass(frozen=True, kw_only=True, slots=True)
class DockerArchive(LocalTransport):
    """A ``docker save`` archive: base ``docker-archive:FILE[:NAME:TAG]``, output
    ``docker-archive:FILE`` (``docker load`` names the image after every ``--tag``)."""

    kind: ClassVar[str] = "docker-archive"
    source_prefixes: ClassVar[tuple[str, ...]] = SPELLINGS["docker-archive"].sources
    sink_prefix: ClassVar[str | None] = SPELLINGS["docker-archive"].sink
    usage: ClassVar[str] = SPELLINGS["docker-archive"].usage

    tag: str | None = None
    """Base only: which image of the archive (``NAME:TAG``), when it holds several."""

    @classmethod
    def parse_source(cls, spec: str, rest: str) -> DockerArchive:
        path, tag = split_path_ref(rest)
        return cls(spec=spec, target=str(path), tag=tag)

    @classmethod
    def parse_sink(cls, spec: str, rest: str) -> DockerArchive:
        refuse_directory(spec, rest, cls.kind)
        return cls(spec=spec, target=rest)

    @contextlib.contextmanager
    def open(self, platform: Platform | None, context: TransportContext) -> Iterator[Image]:
        yield read_docker_archive(Path(self.target), tag=self.tag, platform=platform)

    def temp_places(self) -> tuple[TempPlace, ...]:
        return (siblings_of(self.target),)

    def write(
        self, image: Image, context: TransportContext, *, tags: Sequence[str] = (), referrers: Sequence[Artifact] = ()
    ) -> OutputResult:
        del referrers  # the Docker engine (and its archive format) keeps no referrers
        ref_name, extra = _layout_parts(image, tags)
        if archive_holds(Path(self.target), image, ref_name=ref_name, extra=extra):  # a no-change rebuild
            return OutputResult(spec=self.spec, kind=self.kind, location=self.target, unchanged=True)
        with writing(self.kind, self.target):
            write_docker_archive(image, Path(self.target), tags=tags)
        return OutputResult(spec=self.spec, kind=self.kind, location=self.target)

    def write_index(
        self, index: ImageIndex, context: TransportContext, *, tags: Sequence[str] = (), referrers: Sequence[Artifact] = ()
    ) -> OutputResult:
        """``docker load`` takes one platform's image: refused before anything is written."""
        platforms = ", ".join(str(p) for p in index.platforms)
        raise OutputError(
            f"{self.spec}: a docker-archive holds one platform's image, this build made {platforms}",
            key="--output",
            hint="write oci-archive:FILE (it holds the index), or build one --platform for the docker-archive",
        )
