"""OCI and Docker image files, written and read with the standard library only.

Tests use these to make inputs (a base image as an OCI layout, an OCI archive or a
``docker save`` tarball) and to check what ``layerplan build`` wrote, independently of
layerplan's own readers: every digest, size and diff_id is recomputed here from the bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_MANIFEST",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_MANIFEST",
    "FileSpec",
    "ImageFiles",
    "canonical",
    "check_image",
    "check_reproducible_layer",
    "digest_of",
    "gzip_header",
    "layer_members",
    "make_image",
    "make_layer",
    "read_docker_archive",
    "read_oci_archive",
    "read_oci_layout",
    "write_docker_archive",
    "write_oci_archive",
    "write_oci_layout",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
REF_NAME = "org.opencontainers.image.ref.name"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(value: Any) -> bytes:
    """JSON as OCI tools write it for digests: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class FileSpec:
    """One tar entry: a file (``data``), a directory (``kind="dir"``) or a symlink (``target``)."""

    path: str
    kind: str = "file"
    data: bytes = b""
    target: str = ""
    mode: int | None = None


def make_layer(entries: Sequence[FileSpec], *, mtime: int = 0) -> tuple[bytes, str]:
    """A gzip'd tar of ``entries`` (in the order given) and its diff_id."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.path)
            info.mtime = mtime
            if entry.kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, entry.mode or 0o755
                tar.addfile(info)
            elif entry.kind == "symlink":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, entry.target, 0o777
                tar.addfile(info)
            else:
                info.size, info.mode = len(entry.data), entry.mode or 0o644
                tar.addfile(info, io.BytesIO(entry.data))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), digest_of(tar_bytes)


@dataclass
class ImageFiles:
    """One single-platform image as bytes: manifest, config, layer blobs (in manifest order)."""

    manifest_bytes: bytes
    config_bytes: bytes
    layers: list[bytes] = field(default_factory=list)

    @property
    def manifest(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.manifest_bytes)
        return value

    @property
    def config(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.config_bytes)
        return value

    @property
    def digest(self) -> str:
        return digest_of(self.manifest_bytes)

    @property
    def config_digest(self) -> str:
        return digest_of(self.config_bytes)

    @property
    def media_type(self) -> str:
        return str(self.manifest.get("mediaType") or OCI_MANIFEST)

    def blobs(self) -> dict[str, bytes]:
        """Every blob the manifest names (config and layers), by digest."""
        out = {self.config_digest: self.config_bytes}
        out.update({digest_of(layer): layer for layer in self.layers})
        return out


def make_image(
    layers: Sequence[tuple[bytes, str]],
    config: Mapping[str, Any],
    *,
    docker_types: bool = False,
    history: Sequence[str] | None = None,
) -> ImageFiles:
    """An image of ``layers`` (blob, diff_id) with ``config`` (rootfs and history filled in)."""
    body = dict(config)
    body["rootfs"] = {"type": "layers", "diff_ids": [diff_id for _, diff_id in layers]}
    body["history"] = [{"created_by": text} for text in (history or [f"layer {i}" for i in range(len(layers))])]
    config_bytes = canonical(body)
    layer_type = DOCKER_LAYER if docker_types else OCI_LAYER
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST if docker_types else OCI_MANIFEST,
        "config": {
            "mediaType": DOCKER_CONFIG if docker_types else OCI_CONFIG,
            "digest": digest_of(config_bytes),
            "size": len(config_bytes),
        },
        "layers": [{"mediaType": layer_type, "digest": digest_of(blob), "size": len(blob)} for blob, _ in layers],
    }
    return ImageFiles(canonical(manifest), config_bytes, [blob for blob, _ in layers])


def _layout_files(image: ImageFiles, ref_name: str) -> dict[str, bytes]:
    files = {"oci-layout": canonical({"imageLayoutVersion": "1.0.0"})}
    for digest, data in {**image.blobs(), image.digest: image.manifest_bytes}.items():
        files[f"blobs/sha256/{digest.split(':', 1)[1]}"] = data
    config = image.config
    entry = {
        "mediaType": image.media_type,
        "digest": image.digest,
        "size": len(image.manifest_bytes),
        "annotations": {REF_NAME: ref_name},
        "platform": {"architecture": config.get("architecture", "amd64"), "os": config.get("os", "linux")},
    }
    files["index.json"] = canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]})
    return files


def write_oci_layout(image: ImageFiles, directory: Path, *, ref_name: str = "latest") -> Path:
    """An OCI image layout directory holding ``image`` under ``ref_name``."""
    for name, data in _layout_files(image, ref_name).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
    return directory


def _write_tar(path: Path, files: Mapping[str, bytes]) -> Path:
    with tarfile.open(path, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(files[name]), 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    return path


def write_oci_archive(image: ImageFiles, path: Path, *, ref_name: str = "latest") -> Path:
    """A tar of an OCI layout (skopeo's ``oci-archive:``)."""
    return _write_tar(path, _layout_files(image, ref_name))


def write_docker_archive(image: ImageFiles, path: Path, *, tag: str) -> Path:
    """A ``docker save`` tarball: manifest.json, the config and uncompressed layer tars."""
    config_name = image.config_digest.split(":", 1)[1] + ".json"
    files = {config_name: image.config_bytes}
    layer_names = []
    for blob in image.layers:
        tar_bytes = gzip.decompress(blob)
        name = f"{hashlib.sha256(tar_bytes).hexdigest()}/layer.tar"
        files[name] = tar_bytes
        layer_names.append(name)
    files["manifest.json"] = json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": layer_names}]).encode()
    return _write_tar(path, files)


# ---------------------------------------------------------------------------- reading


def _select(index: Mapping[str, Any], ref_name: str | None) -> Mapping[str, Any]:
    manifests = [m for m in index["manifests"] if not m.get("artifactType")]  # an SBOM is not an image
    if ref_name is not None:
        manifests = [m for m in manifests if (m.get("annotations") or {}).get(REF_NAME) == ref_name]
    assert len(manifests) == 1, f"expected one image named {ref_name!r} in the index, found {len(manifests)}"
    entry: Mapping[str, Any] = manifests[0]
    return entry


def _read_layout(read: Any, ref_name: str | None) -> tuple[ImageFiles, dict[str, Any]]:
    """``read(name) -> bytes``: the layout's files. Checks every blob against its digest."""

    def blob(descriptor: Mapping[str, Any]) -> bytes:
        algorithm, hex_ = str(descriptor["digest"]).split(":", 1)
        data: bytes = read(f"blobs/{algorithm}/{hex_}")
        assert digest_of(data) == descriptor["digest"], f"blob {descriptor['digest']} does not match its digest"
        assert len(data) == descriptor["size"], f"blob {descriptor['digest']}: {len(data)} bytes, descriptor says {descriptor['size']}"
        return data

    assert json.loads(read("oci-layout")) == {"imageLayoutVersion": "1.0.0"}
    index: dict[str, Any] = json.loads(read("index.json"))
    entry = _select(index, ref_name)
    manifest_bytes = blob(entry)
    manifest = json.loads(manifest_bytes)
    assert entry["mediaType"] == manifest.get("mediaType", OCI_MANIFEST)
    image = ImageFiles(manifest_bytes, blob(manifest["config"]), [blob(layer) for layer in manifest["layers"]])
    return image, index


def read_oci_layout(directory: Path, ref_name: str | None = None) -> tuple[ImageFiles, dict[str, Any]]:
    """The image of an OCI layout (and its index.json), every blob verified."""
    return _read_layout(lambda name: (directory / name).read_bytes(), ref_name)


def read_oci_archive(path: Path, ref_name: str | None = None) -> tuple[ImageFiles, dict[str, Any]]:
    """The image of a tarred OCI layout (and its index.json), every blob verified."""
    with tarfile.open(path) as tar:

        def read(name: str) -> bytes:
            member = tar.extractfile(name)
            assert member is not None, name
            return member.read()

        return _read_layout(read, ref_name)


@dataclass
class DockerArchive:
    """A ``docker load`` tarball: its manifest.json entry, config and layer tars."""

    entry: dict[str, Any]
    config_bytes: bytes
    layer_tars: list[bytes]
    """Uncompressed."""
    names: list[str]
    """Every member name, in archive order."""

    @property
    def config(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.config_bytes)
        return value


def read_docker_archive(path: Path) -> DockerArchive:
    """The single image of a docker-archive; its layer tars are checked against the config's diff_ids."""
    with tarfile.open(path) as tar:
        names = tar.getnames()

        def read(name: str) -> bytes:
            member = tar.extractfile(name)
            assert member is not None, name
            return member.read()

        (entry,) = json.loads(read("manifest.json"))
        config_bytes = read(entry["Config"])
        # classic `docker save` stores plain tars; Docker 25+ (and layerplan) gzip'd OCI blobs
        layers = [_gunzip_if_needed(read(name)) for name in entry["Layers"]]
    archive = DockerArchive(entry=entry, config_bytes=config_bytes, layer_tars=layers, names=names)
    assert [digest_of(tar) for tar in layers] == archive.config["rootfs"]["diff_ids"]
    return archive


def _gunzip_if_needed(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def check_image(image: ImageFiles) -> None:
    """Manifest, config and layers agree: sizes, digests (checked on reading), diff_ids, history."""
    manifest, config = image.manifest, image.config
    assert manifest["schemaVersion"] == 2
    assert manifest["config"]["digest"] == image.config_digest
    assert manifest["config"]["size"] == len(image.config_bytes)
    diff_ids = []
    for descriptor, blob in zip(manifest["layers"], image.layers, strict=True):
        compressed = descriptor["mediaType"].endswith(("+gzip", ".gzip"))
        assert compressed == (blob[:2] == b"\x1f\x8b"), f"{descriptor['digest']}: media type {descriptor['mediaType']}"
        diff_ids.append(digest_of(gzip.decompress(blob) if compressed else blob))
    assert config["rootfs"] == {"type": "layers", "diff_ids": diff_ids}
    assert len([h for h in config.get("history", []) if not h.get("empty_layer")]) == len(image.layers)


# ---------------------------------------------------------------------------- layer tars


def layer_members(blob: bytes) -> list[tarfile.TarInfo]:
    """The tar headers of a gzip'd layer, in archive order."""
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob)), mode="r:") as tar:
        return tar.getmembers()


def gzip_header(blob: bytes) -> dict[str, int]:
    """The fields of a gzip member's header that can make two compressions differ."""
    assert blob[:2] == b"\x1f\x8b", "not gzip"
    return {"flags": blob[3], "mtime": int.from_bytes(blob[4:8], "little"), "os": blob[9]}


def _sort_key(path: str) -> list[bytes]:
    return [part.encode() for part in path.rstrip("/").split("/")]


OWNED = {"home/app": (10001, 10001)}
"""Entries layerplan gives the image's user (its HOME, by default); every other is root's."""


def check_reproducible_layer(
    blob: bytes, *, epoch: int, owned: dict[str, tuple[int, int]] = OWNED
) -> list[tarfile.TarInfo]:
    """A layer written the reproducible way: no gzip name/time, GNU headers without PAX records,
    sorted entries with every parent present, owner 0:0 (``owned``: the user's) without
    names, every time ``epoch``."""
    header = gzip_header(blob)
    assert header["mtime"] == 0 and header["flags"] & 0x08 == 0, f"gzip header carries a time or name: {header}"
    raw = gzip.decompress(blob)
    members = layer_members(blob)
    assert members, "empty layer"
    names = [m.name for m in members]
    assert names == sorted(names, key=_sort_key), "entries are not sorted"
    assert len(set(names)) == len(names), "an entry appears twice"
    present = set(names)
    for name in names:
        parent = name.rstrip("/").rpartition("/")[0]
        assert not parent or parent in present, f"{name}: parent {parent} has no entry"
    for member in members:
        assert member.pax_headers == {}, f"{member.name}: PAX records {member.pax_headers}"
        uid, gid = owned.get(member.name.rstrip("/"), (0, 0))
        assert (member.uid, member.gid, member.uname, member.gname) == (uid, gid, "", ""), member.name
        assert member.mtime == epoch, f"{member.name}: mtime {member.mtime}, expected {epoch}"
        assert member.type in (tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE), member.name
    # no pax ('x'/'g') or GNU long-name blocks carrying atime/ctime: GNU headers keep them
    # at offsets 345/357 of each header block, which must be empty
    for offset in _header_offsets(raw):
        block = raw[offset : offset + 512]
        assert block[156:157] not in (b"x", b"g"), "a PAX header"
        assert block[345:369].strip(b"\0") == b"", "a GNU atime/ctime field is set"
    return members


def _header_offsets(raw: bytes) -> Iterable[int]:
    """Offsets of every header block of a tar (long-name blocks included)."""
    offset = 0
    while offset + 512 <= len(raw):
        block = raw[offset : offset + 512]
        if block == b"\0" * 512:
            return
        yield offset
        size = int(block[124:136].strip(b"\0 ") or b"0", 8)
        offset += 512 + (size + 511) // 512 * 512
