"""The OCI image layout directory (``oci-layout``, ``index.json``, ``blobs/sha256/...``).

Writing never leaves a half-written layout: a new layout is built in a temporary sibling
directory and renamed into place; an existing layout gets its missing blobs (each
written atomically, content-addressed so rewriting is harmless) and then a new
``index.json``, atomically, last -- the index is the commit point.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, ClassVar

from layerplan.cache.atomic import atomic_write, fsync_dir, locked_temp_dir
from layerplan.cache.temps import TempPlace, sibling_prefix
from layerplan.image.errors import BaseImageError, ImageError
from layerplan.image.index import Platform
from layerplan.image.model import Image, Opener
from layerplan.image.referrer import Artifact
from layerplan.oci.descriptor import Descriptor
from layerplan.image.image_index import ImageIndex
from layerplan.transports._files import (
    LocalTransport,
    refuse_file,
    same_beside,
    siblings_of,
    split_path_ref,
    write_beside,
    write_beside_index,
    writing,
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

__all__ = ["OciLayout", "holds_image", "read_oci_layout", "write_oci_layout"]

_CHUNK = 1 << 20


def _write_blobs(image: Stored, root: Path) -> None:
    for digest, size, opener in image_blobs(image):
        dest = root / blob_name(digest)
        if dest.is_file() and dest.stat().st_size == size:
            continue
        with atomic_write(dest) as out, opener() as source:
            shutil.copyfileobj(source, out, _CHUNK)


@contextlib.contextmanager
def _writers_one_at_a_time(directory: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the layout's parent directory while one writer reads,
    merges and replaces ``index.json`` (or creates the layout): two builds writing into one
    layout at once must both end up in its index. flock on a directory leaves no file."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_oci_layout(image: Stored, directory: Path, *, ref_name: str | None = "latest") -> Descriptor:
    """Write ``image`` (or an index of images) into the layout ``directory`` under
    ``ref_name``; return its descriptor.

    ``directory`` may be missing, empty, or an existing layout (other images in it are
    kept; one with the same ``ref_name`` is replaced); concurrent writers take turns.
    Raise ``ImageError`` if it is a non-empty directory that is not a layout.
    """
    directory = Path(directory)
    with _writers_one_at_a_time(directory):
        return _write_oci_layout(image, directory, ref_name)


def _write_oci_layout(image: Stored, directory: Path, ref_name: str | None) -> Descriptor:
    if directory.is_dir() and any(directory.iterdir()):
        if not (directory / "oci-layout").is_file():
            raise ImageError(
                "refusing to write an OCI layout into a non-empty directory that is not one",
                path=directory,
                hint="choose a new or empty directory",
            )
        existing = json.loads((directory / "index.json").read_bytes()) if (directory / "index.json").is_file() else None
        _write_blobs(image, directory)
        with atomic_write(directory / "oci-layout") as out:
            out.write(LAYOUT_FILE)
        with atomic_write(directory / "index.json") as out:
            out.write(index_json(image, ref_name, existing))
        return image.manifest_descriptor({"org.opencontainers.image.ref.name": ref_name} if ref_name else None)

    directory.parent.mkdir(parents=True, exist_ok=True)
    # Locked like every temporary, so a sweep by another build never takes a live one.
    tmp, lock = locked_temp_dir(directory.parent, sibling_prefix(directory.name))
    try:
        _write_blobs(image, tmp)
        (tmp / "oci-layout").write_bytes(LAYOUT_FILE)
        (tmp / "index.json").write_bytes(index_json(image, ref_name))
        for path in tmp.rglob("*"):
            if path.is_file():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
        os.chmod(tmp, 0o755)
        os.replace(tmp, directory)  # replaces an empty directory too
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        os.close(lock)
    fsync_dir(directory.parent)
    return image.manifest_descriptor({"org.opencontainers.image.ref.name": ref_name} if ref_name else None)


def holds_image(directory: Path, image: Image, *, ref_name: str | None = "latest") -> bool:
    """True when the layout ``directory`` already lists ``image`` under ``ref_name`` in its
    ``index.json`` and has every blob of it (by size: blobs are written whole, under their
    digest): writing it again would change nothing."""
    try:
        index = json.loads((Path(directory) / "index.json").read_bytes())
    except (OSError, ValueError):
        return False
    ours = image.manifest_descriptor({REF_NAME: ref_name} if ref_name else None).to_json()
    if not isinstance(index, dict) or ours not in (index.get("manifests") or []):
        return False
    for digest, size, _ in image_blobs(image):
        try:
            if (Path(directory) / blob_name(digest)).stat().st_size != size:
                return False
        except OSError:
            return False
    return True


def _opener(root: Path, name: str) -> Opener:
    path = root / name

    def open_blob() -> IO[bytes]:
        try:
            return open(path, "rb")
        except FileNotFoundError as exc:
            raise BaseImageError(f"the layout has no {name}", path=root) from exc

    return open_blob


def read_oci_layout(directory: Path, *, ref_name: str | None = None, platform: Platform | None = None) -> Image:
    """The image in the layout ``directory`` (by ``ref_name``, resolved to ``platform``).

    Layers open lazily from the layout's files. Raise ``BaseImageError`` when the
    layout is missing, malformed, or has no matching image.
    """
    root = Path(directory)
    if not (root / "index.json").is_file():
        raise BaseImageError("not an OCI image layout (no index.json)", path=root)

    def read(name: str) -> bytes:
        try:
            return (root / name).read_bytes()
        except FileNotFoundError as exc:
            raise BaseImageError(f"the layout has no {name}", path=root) from exc

    return load_layout(read, lambda name: _opener(root, name), ref_name=ref_name, platform=platform, source=str(root))


@dataclass(frozen=True, kw_only=True, slots=True)
class OciLayout(LocalTransport):
    """An OCI image layout directory: base ``oci:DIR[:REF]`` (``REF``: the image's ref name
    in the layout, as in skopeo), output ``oci:DIR`` (the image named after the first
    ``--tag``, else ``latest``)."""

    kind: ClassVar[str] = "oci"
    source_prefixes: ClassVar[tuple[str, ...]] = SPELLINGS["oci"].sources
    sink_prefix: ClassVar[str | None] = SPELLINGS["oci"].sink
    usage: ClassVar[str] = SPELLINGS["oci"].usage

    ref_name: str | None = None
    """Base only: the image's ``org.opencontainers.image.ref.name`` in the layout."""

    @classmethod
    def parse_source(cls, spec: str, rest: str) -> OciLayout:
        path, ref_name = split_path_ref(rest)
        return cls(spec=spec, target=str(path), ref_name=ref_name)

    @classmethod
    def parse_sink(cls, spec: str, rest: str) -> OciLayout:
        refuse_file(spec, rest)
        return cls(spec=spec, target=rest)

    @contextlib.contextmanager
    def open(self, platform: Platform | None, context: TransportContext) -> Iterator[Image]:
        yield read_oci_layout(Path(self.target), ref_name=self.ref_name, platform=platform)

    def temp_places(self) -> tuple[TempPlace, ...]:
        """Beside the layout (a new one is staged there), and in it (``index.json``, blobs)."""
        root = Path(self.target).absolute()
        inside = (root, root / "blobs" / "sha256")
        return (siblings_of(self.target), *(TempPlace(directory=d) for d in inside))

    def write(
        self, image: Image, context: TransportContext, *, tags: Sequence[str] = (), referrers: Sequence[Artifact] = ()
    ) -> OutputResult:
        ref_name = tags[0] if tags else "latest"
        there = same_beside(self.target, referrers)
        if there is not None and holds_image(Path(self.target), image, ref_name=ref_name):
            return OutputResult(
                spec=self.spec, kind=self.kind, location=self.target, attached=tuple(zip((a.artifact_type for a in referrers), there)),
                attached_via="files" if there else None, unchanged=True,
            )  # fmt: skip
        with writing(self.kind, self.target):
            write_oci_layout(image, Path(self.target), ref_name=ref_name)
            beside = write_beside(self.target, referrers)
        return OutputResult(
            spec=self.spec, kind=self.kind, location=self.target, attached=tuple(zip((a.artifact_type for a in referrers), beside)),
            attached_via="files" if beside else None,
        )

    def write_index(
        self, index: ImageIndex, context: TransportContext, *, tags: Sequence[str] = (), referrers: Sequence[Artifact] = ()
    ) -> OutputResult:
        """``index.json`` names the index blob (the OCI layout spec's multi-platform form)."""
        with writing(self.kind, self.target):
            write_oci_layout(index, Path(self.target), ref_name=tags[0] if tags else "latest")
            beside = write_beside_index(self.target, index, referrers)
        return OutputResult(
            spec=self.spec, kind=self.kind, location=self.target, attached=beside, attached_via="files" if beside else None
        )
