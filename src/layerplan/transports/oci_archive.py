"""An OCI image layout in one tar file (``oci-archive:``), written reproducibly.

Entries are sorted by name, owned by 0:0 with mode 0644/0755 and the same fixed time,
so the same image gives the same archive bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO

from layerplan.cache.atomic import atomic_write
from layerplan.image.index import Platform
from layerplan.image.model import Image
from layerplan.image.tarformat import DIRTYPE, REGTYPE, TarHeader, TarWriter
from layerplan.image.tarlayer import DEFAULT_EPOCH
from layerplan.oci.descriptor import Descriptor
from layerplan.transports._archive import ArchiveIndex
from layerplan.transports._layout import (
    LAYOUT_FILE,
    REF_NAME,
    blob_name,
    image_blobs,
    index_json,
    load_layout,
)

__all__ = ["read_oci_archive", "stream_layout_tar", "write_oci_archive"]


def stream_layout_tar(
    image: Image, out: IO[bytes], *, ref_name: str | None, extra: Sequence[tuple[str, bytes]] = ()
) -> None:
    """Write the layout of ``image`` as a tar to ``out`` (plus ``extra`` files at the top)."""
    tar = TarWriter(out)
    files: list[tuple[str, int, object]] = [(blob_name(d), size, opener) for d, size, opener in image_blobs(image)]
    files += [("index.json", 0, index_json(image, ref_name)), ("oci-layout", 0, LAYOUT_FILE)]
    files += [(name, 0, data) for name, data in extra]
    dirs = sorted({"blobs/"} | {name.rsplit("/", 1)[0] + "/" for name, _, _ in files if name.startswith("blobs/")})
    for directory in dirs:
        tar.add(TarHeader(name=directory, type=DIRTYPE, mode=0o755, mtime=DEFAULT_EPOCH))
    for name, size, content in sorted(files, key=lambda f: f[0]):
        header = TarHeader(name=name, type=REGTYPE, mode=0o644, size=size, mtime=DEFAULT_EPOCH)
        if isinstance(content, bytes):
            tar.add_bytes(header, content)
        else:
            with content() as stream:  # type: ignore[operator]
                tar.add(header, stream)
    tar.close()


def write_oci_archive(image: Image, file: Path, *, ref_name: str | None = "latest") -> Descriptor:
    """Write ``image`` as an OCI archive to ``file`` (atomically); return the manifest descriptor."""
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
