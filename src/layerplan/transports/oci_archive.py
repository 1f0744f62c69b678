"""An OCI image layout in one tar file (``oci-archive:``), written reproducibly.

Entries are sorted by name, owned by 0:0 with mode 0644/0755 and the same fixed time,
so the same image gives the same archive bytes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, ClassVar

from layerplan.cache.atomic import atomic_write
from layerplan.cache.temps import TempPlace
from layerplan.image.index import Platform
from layerplan.image.model import Image, Opener
from layerplan.image.referrer import Artifact
from layerplan.image.tarformat import DIRTYPE, REGTYPE, TarHeader, TarWriter
from layerplan.image.tarlayer import DEFAULT_EPOCH
from layerplan.oci.descriptor import Descriptor
from layerplan.transports._archive import ArchiveIndex, holds_files
from layerplan.image.image_index import ImageIndex
from layerplan.transports._files import (
    LocalTransport, refuse_directory, same_beside, same_beside_index, siblings_of, split_path_ref, write_beside,
    write_beside_index, writing,
)
from layerplan.transports._layout import (
    LAYOUT_FILE,
    REF_NAME,
    Stored,
    blob_name,
    image_blobs,
    index_json,
    load_layout,
)
from layerplan.transports.spellings import SPELLINGS
from layerplan.transports.protocol import OutputResult, TransportContext

__all__ = ["OciArchive", "archive_holds", "read_oci_archive", "stream_layout_tar", "write_oci_archive"]


def _layout_files(
    image: Stored, ref_name: str | None, extra: Sequence[tuple[str, bytes]]
) -> list[tuple[str, int, Opener | bytes]]:
    """The files of the layout's tar: (name, size, opener) of each blob, (name, size, bytes) of
    the small documents."""
    files: list[tuple[str, int, Opener | bytes]] = [(blob_name(d), size, opener) for d, size, opener in image_blobs(image)]
    documents = [("index.json", index_json(image, ref_name)), ("oci-layout", LAYOUT_FILE), *extra]
    return files + [(name, len(data), data) for name, data in documents]


def archive_holds(file: Path, image: Stored, *, ref_name: str | None, extra: Sequence[tuple[str, bytes]] = ()) -> bool:
    """True when the tar ``file`` already holds exactly what :func:`stream_layout_tar` would
    write: the same files, each blob by size (its name is its digest), each document byte for
    byte. Writing it again would give the same bytes, so a no-change rebuild leaves it alone."""
    files = _layout_files(image, ref_name, extra)
    return holds_files(Path(file), {name: content if isinstance(content, bytes) else size for name, size, content in files})


def stream_layout_tar(
    image: Stored, out: IO[bytes], *, ref_name: str | None, extra: Sequence[tuple[str, bytes]] = ()
) -> None:
    """Write the layout of ``image`` as a tar to ``out`` (plus ``extra`` files at the top)."""
    tar = TarWriter(out)
    files = _layout_files(image, ref_name, extra)
    dirs = sorted({"blobs/"} | {name.rsplit("/", 1)[0] + "/" for name, _, _ in files if name.startswith("blobs/")})
    for directory in dirs:
        tar.add(TarHeader(name=directory, type=DIRTYPE, mode=0o755, mtime=DEFAULT_EPOCH))
    for name, size, content in sorted(files, key=lambda f: f[0]):
        header = TarHeader(name=name, type=REGTYPE, mode=0o644, size=size, mtime=DEFAULT_EPOCH)
        if isinstance(content, bytes):
            tar.add_bytes(header, content)
        else:
            with content() as stream:
                tar.add(header, stream)
    tar.close()


def write_oci_archive(image: Stored, file: Path, *, ref_name: str | None = "latest") -> Descriptor:
    """Write ``image`` (or an index of images) as an OCI archive to ``file`` (atomically);
    return the manifest descriptor."""
    with atomic_write(Path(file)) as out:
        stream_layout_tar(image, out, ref_name=ref_name)
    return image.manifest_descriptor({REF_NAME: ref_name} if ref_name else None)


def read_oci_archive(file: Path, *, ref_name: str | None = None, platform: Platform | None = None) -> Image:
    """The image in the OCI archive ``file``; layers open lazily from inside the tar."""
    archive = ArchiveIndex(Path(file))
    return load_layout(
        archive.read,
        lambda name: lambda: archive.open(name),
        ref_name=ref_name,
        platform=platform,
        source=str(file),
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class OciArchive(LocalTransport):
    """An OCI image layout in one tar file: base ``oci-archive:FILE[:REF]``, output
    ``oci-archive:FILE`` (the image named after the first ``--tag``, else ``latest``)."""

    kind: ClassVar[str] = "oci-archive"
    source_prefixes: ClassVar[tuple[str, ...]] = SPELLINGS["oci-archive"].sources
    sink_prefix: ClassVar[str | None] = SPELLINGS["oci-archive"].sink
    usage: ClassVar[str] = SPELLINGS["oci-archive"].usage

    ref_name: str | None = None
    """Base only: the image's ``org.opencontainers.image.ref.name`` in the archive."""

    @classmethod
    def parse_source(cls, spec: str, rest: str) -> OciArchive:
        path, ref_name = split_path_ref(rest)
        return cls(spec=spec, target=str(path), ref_name=ref_name)

    @classmethod
    def parse_sink(cls, spec: str, rest: str) -> OciArchive:
        refuse_directory(spec, rest, cls.kind)
        return cls(spec=spec, target=rest)

    @contextlib.contextmanager
    def open(self, platform: Platform | None, context: TransportContext) -> Iterator[Image]:
        yield read_oci_archive(Path(self.target), ref_name=self.ref_name, platform=platform)

    def temp_places(self) -> tuple[TempPlace, ...]:
        return (siblings_of(self.target),)

    def write(
        self, image: Image, context: TransportContext, *, tags: Sequence[str] = (), referrers: Sequence[Artifact] = ()
    ) -> OutputResult:
        ref_name = tags[0] if tags else "latest"
        there = same_beside(self.target, referrers)
        unchanged = there is not None and archive_holds(Path(self.target), image, ref_name=ref_name)
        if not unchanged:
            with writing(self.kind, self.target):
                write_oci_archive(image, Path(self.target), ref_name=ref_name)
                there = write_beside(self.target, referrers)
        return OutputResult(
            spec=self.spec, kind=self.kind, location=self.target,
            attached=tuple(zip((a.artifact_type for a in referrers), there or ())),
            attached_via="files" if there else None, unchanged=unchanged,
        )  # fmt: skip

    def write_index(
        self, index: ImageIndex, context: TransportContext, *, tags: Sequence[str] = (), referrers: Sequence[Artifact] = ()
    ) -> OutputResult:
        """The layout of the index, in one tar; left alone when it already holds it (a
        no-change rebuild), as ``write`` does for one image."""
        ref_name = tags[0] if tags else "latest"
        beside = same_beside_index(self.target, index, referrers)
        unchanged = beside is not None and archive_holds(Path(self.target), index, ref_name=ref_name)
        if not unchanged:
            with writing(self.kind, self.target):
                write_oci_archive(index, Path(self.target), ref_name=ref_name)
                beside = write_beside_index(self.target, index, referrers)
        return OutputResult(
            spec=self.spec, kind=self.kind, location=self.target, attached=beside or (),
            attached_via="files" if beside else None, unchanged=unchanged,
        )  # fmt: skip
