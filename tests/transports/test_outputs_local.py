"""OCI layout, OCI archive and docker-archive sinks and sources, without the engine."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from lp_image_helpers import files, memory_layer, synthetic_image

from layerplan.errors import ConfigError
from layerplan.image import BaseImageError, Image, ImageError, Layer, Platform
from layerplan.image.tarformat import DIRTYPE, REGTYPE, SYMTYPE, TarHeader, TarWriter
from layerplan.oci import Digest, canonical_json
from layerplan.oci.descriptor import MediaType
from layerplan.transports import (
    OutputError,
    Registry,
    TransportContext,
    parse_output,
    parse_source,
    read_docker_archive,
    read_oci_archive,
    read_oci_layout,
    write_docker_archive,
    write_oci_archive,
    write_oci_layout,
)


@pytest.fixture
def image(tmp_path: Path) -> Image:
    return synthetic_image(
        [
            memory_layer(files(tmp_path, {"usr/bin/python3.11": b"py", "usr/bin/python3": "->python3.11"})),
            memory_layer(files(tmp_path, {"app/main.py": b"print('hi')\n"})),
        ]
    )


def blobs_of(image: Image) -> list[bytes]:
    out = []
    for layer in image.layers:
        with layer.open() as handle:
            out.append(handle.read())
    return out


def same_image(a: Image, b: Image) -> None:
    assert (a.manifest, a.config) == (b.manifest, b.config)
    assert [layer.descriptor for layer in a.layers] == [layer.descriptor for layer in b.layers]
    assert blobs_of(a) == blobs_of(b)


def test_oci_layout_round_trip(tmp_path: Path, image: Image) -> None:
    descriptor = write_oci_layout(image, tmp_path / "layout", ref_name="v1")
    assert descriptor.digest == image.digest
    root = tmp_path / "layout"
    assert json.loads((root / "oci-layout").read_bytes()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((root / "index.json").read_bytes())
    assert index["mediaType"] == MediaType.OCI_INDEX
    assert index["manifests"][0]["annotations"] == {"org.opencontainers.image.ref.name": "v1"}
    assert index["manifests"][0]["platform"] == {"architecture": "amd64", "os": "linux"}
    for layer in image.layers:
        assert (root / "blobs" / "sha256" / layer.digest.hex).stat().st_size == layer.descriptor.size
    same_image(read_oci_layout(root), image)
    same_image(read_oci_layout(root, ref_name="v1"), image)
    with pytest.raises(BaseImageError, match="no image named 'v2'"):
        read_oci_layout(root, ref_name="v2")


def test_oci_layout_update_keeps_other_images(tmp_path: Path, image: Image) -> None:
    other = synthetic_image([memory_layer(files(tmp_path, {"x": b"other"}))])
    root = tmp_path / "layout"
    write_oci_layout(image, root, ref_name="a")
    write_oci_layout(other, root, ref_name="b")
    write_oci_layout(other, root, ref_name="a")  # replaces the image named a
    index = json.loads((root / "index.json").read_bytes())
    names = {m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"] for m in index["manifests"]}
    assert names == {"a": str(other.digest), "b": str(other.digest)}
    # two images for the same platform and no name: refuse to guess
    with pytest.raises(BaseImageError, match="holds 2 images; say which"):
        read_oci_layout(root)
    assert read_oci_layout(root, ref_name="b").digest == other.digest


def test_oci_layout_refuses_a_foreign_directory(tmp_path: Path, image: Image) -> None:
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("mine")
    with pytest.raises(ImageError, match="not one"):
        write_oci_layout(image, tmp_path / "stuff")


def broken(image: Image) -> Image:
    """``image`` whose last layer cannot be read."""

    def fail() -> io.BytesIO:
        raise OSError("disk on fire")

    last = image.layers[-1]
    layers = (*image.layers[:-1], Layer(descriptor=last.descriptor, diff_id=last.diff_id, opener=fail))
    return Image(manifest=image.manifest, config=image.config, layers=layers)


def test_failed_writes_leave_nothing_half_written(tmp_path: Path, image: Image) -> None:
    out = tmp_path / "out"
    out.mkdir()
    bad = broken(image)
    with pytest.raises(OSError, match="disk on fire"):
        write_oci_layout(bad, out / "layout")
    with pytest.raises(OSError, match="disk on fire"):
        write_oci_archive(bad, out / "image.oci.tar")
    with pytest.raises(OSError, match="disk on fire"):
        write_docker_archive(bad, out / "image.docker.tar")
    assert list(out.iterdir()) == []
    # an existing layout keeps its old index when an update fails
    write_oci_layout(image, out / "layout", ref_name="ok")
    before = (out / "layout" / "index.json").read_bytes()
    other = synthetic_image([memory_layer(files(tmp_path, {"y": b"y"}))])
    with pytest.raises(OSError):
        write_oci_layout(broken(other), out / "layout", ref_name="new")
    assert (out / "layout" / "index.json").read_bytes() == before
    assert not [p for p in (out / "layout").rglob("*") if ".tmp-" in p.name]


def test_oci_archive_is_reproducible(tmp_path: Path, image: Image) -> None:
    write_oci_archive(image, tmp_path / "a.tar", ref_name="latest")
    write_oci_archive(image, tmp_path / "b.tar", ref_name="latest")
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    with tarfile.open(tmp_path / "a.tar") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names[:2] == ["blobs", "blobs/sha256"] and names[-2:] == ["index.json", "oci-layout"]
    assert {(m.uid, m.gid, m.mtime) for m in members} == {(0, 0, 315532800)}
    same_image(read_oci_archive(tmp_path / "a.tar"), image)


def test_docker_archive_round_trip(tmp_path: Path, image: Image) -> None:
    write_docker_archive(image, tmp_path / "d.tar", tags=["example.com/team/app:1.0", "app"])
    with tarfile.open(tmp_path / "d.tar") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest == [
        {
            "Config": f"blobs/sha256/{image.config_descriptor.digest.hex}",
            "Layers": [f"blobs/sha256/{layer.digest.hex}" for layer in image.layers],
            "RepoTags": ["example.com/team/app:1.0", "app:latest"],
        }
    ]
    read = read_docker_archive(tmp_path / "d.tar")
    assert read.config == image.config
    assert [layer.descriptor for layer in read.layers] == [layer.descriptor for layer in image.layers]
    assert read_docker_archive(tmp_path / "d.tar", tag="docker.io/library/app:latest").config == image.config
    with pytest.raises(BaseImageError, match="no image tagged"):
        read_docker_archive(tmp_path / "d.tar", tag="app:2")
    # the docker-archive is an OCI archive too
    same_image(read_oci_archive(tmp_path / "d.tar"), image)


def test_classic_docker_save_layout(tmp_path: Path, image: Image) -> None:
    """``docker save`` of Docker 20.10: ``<id>/layer.tar`` plain tars, a duplicate as a symlink."""
    import gzip

    plain = [gzip.decompress(blob) for blob in blobs_of(image)]
    config = json.loads(image.config)
    config["rootfs"]["diff_ids"].append(config["rootfs"]["diff_ids"][0])  # the first layer twice
    config_bytes = canonical_json(config)
    config_name = f"{Digest.of_bytes(config_bytes).hex}.json"
    manifest = [{"Config": config_name, "RepoTags": ["old:1"], "Layers": ["aa/layer.tar", "bb/layer.tar", "cc/layer.tar"]}]
    with open(tmp_path / "save.tar", "wb") as out:
        tar = TarWriter(out)
        tar.add_bytes(TarHeader(name=config_name, type=REGTYPE, mode=0o644), config_bytes)
        for directory, data in (("aa", plain[0]), ("bb", plain[1])):
            tar.add(TarHeader(name=f"{directory}/", type=DIRTYPE, mode=0o755))
            tar.add_bytes(TarHeader(name=f"{directory}/layer.tar", type=REGTYPE, mode=0o644), data)
        tar.add(TarHeader(name="cc/", type=DIRTYPE, mode=0o755))
        tar.add(TarHeader(name="cc/layer.tar", type=SYMTYPE, mode=0o777, linkname="../aa/layer.tar"))
        tar.add_bytes(TarHeader(name="manifest.json", type=REGTYPE, mode=0o644), json.dumps(manifest).encode())
        tar.close()
    read = read_docker_archive(tmp_path / "save.tar")
    assert [layer.descriptor.media_type for layer in read.layers] == [MediaType.OCI_LAYER_TAR] * 3
    assert [layer.digest for layer in read.layers] == [layer.diff_id for layer in read.layers]
    with read.layers[2].open_tar() as stream:
        assert stream.read() == plain[0]


def test_multi_platform_index(tmp_path: Path) -> None:
    amd = synthetic_image([memory_layer(files(tmp_path, {"amd": b"1"}))])
    arm = synthetic_image([memory_layer(files(tmp_path, {"arm": b"2"}))], architecture="arm64", variant="v8")
    root = tmp_path / "layout"
    write_oci_layout(amd, root, ref_name="amd")
    write_oci_layout(arm, root, ref_name="arm")
    # rewrite index.json as one named, nested index of both (like a pulled multi-arch image)
    top = json.loads((root / "index.json").read_bytes())
    nested = canonical_json({"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": [
        {k: v for k, v in m.items() if k != "annotations"} for m in top["manifests"]]})
    (root / "blobs" / "sha256" / Digest.of_bytes(nested).hex).write_bytes(nested)
    (root / "index.json").write_bytes(canonical_json({"schemaVersion": 2, "manifests": [{
        "mediaType": MediaType.OCI_INDEX, "digest": str(Digest.of_bytes(nested)), "size": len(nested),
        "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}))
    assert read_oci_layout(root, platform=Platform.parse("linux/arm64")).digest == arm.digest
    assert read_oci_layout(root, ref_name="multi", platform=Platform.parse("linux/amd64")).digest == amd.digest
    with pytest.raises(BaseImageError, match=r"no linux/s390x variant \(it has: linux/amd64, linux/arm64/v8\)"):
        read_oci_layout(root, platform=Platform.parse("linux/s390x"))


def test_platform_matching() -> None:
    assert Platform.parse("linux/arm64").matches(Platform.parse("linux/arm64/v8"))
    assert not Platform.parse("linux/arm/v6").matches(Platform.parse("linux/arm"))
    assert str(Platform.parse("linux/arm64/v8")) == "linux/arm64/v8"
    with pytest.raises(ValueError):
        Platform.parse("linux")


def test_local_base_sources(tmp_path: Path, image: Image) -> None:
    write_oci_layout(image, tmp_path / "layout", ref_name="v1")
    write_oci_archive(image, tmp_path / "img.oci.tar", ref_name="v1")
    write_docker_archive(image, tmp_path / "img.docker.tar", tags=["app:1", "app:2"])
    for spec, kind in (
        (f"oci:{tmp_path}/layout", "oci"),
        (f"oci:{tmp_path}/layout:v1", "oci"),
        (f"oci-archive:{tmp_path}/img.oci.tar:v1", "oci-archive"),
        (f"docker-archive:{tmp_path}/img.docker.tar", "docker-archive"),
        (f"docker-archive:{tmp_path}/img.docker.tar:app:2", "docker-archive"),
    ):
        source = parse_source(spec)
        assert (str(source), source.kind, source.remote, source.reference, source.pinned) == (spec, kind, False, None, True)
        with source.open(None, TransportContext()) as base:
            assert base.config == image.config, spec
    with pytest.raises(ConfigError, match="does not exist"):
        parse_source(f"oci:{tmp_path}/missing")
    with pytest.raises(BaseImageError, match="not the requested linux/arm64"), parse_source(
        f"oci-archive:{tmp_path}/img.oci.tar"
    ).open(Platform.parse("linux/arm64"), TransportContext()):
        pass


def test_a_spec_without_a_source_prefix_is_a_registry_reference() -> None:
    # only the listed prefixes are transports; `docker:`, `registry:` (old output
    # spellings) and unknown words are image names (docker.io/library/docker:24 is the
    # Docker CLI's image)
    for spec, reference in (
        ("python:3.12-slim", "docker.io/library/python:3.12-slim"),
        ("docker:24", "docker.io/library/docker:24"),
        ("registry:2", "docker.io/library/registry:2"),
        ("ftp:x", "docker.io/library/ftp:x"),
        ("127.0.0.1:5000/team/app@sha256:" + "a" * 64, "127.0.0.1:5000/team/app@sha256:" + "a" * 64),
    ):
        source = parse_source(spec)
        assert isinstance(source, Registry) and source.remote, spec
        assert str(source.reference) == reference
        assert source.pinned == ("@" in spec)
    with pytest.raises(ConfigError, match=r"invalid base image 'ftp://x'") as caught:
        parse_source("ftp://x")
    assert "\n" not in str(caught.value) and caught.value.key == "base"


def test_an_unknown_or_empty_output_is_one_clear_error(tmp_path: Path) -> None:
    hint = "use oci:DIR, oci-archive:FILE, docker-archive:FILE, docker://REF or docker-daemon:REF"
    for spec in ("ftp:/x", "oci-layout:/x", "oci:", "registry", "docker://", "docker-daemon:", "docker:", ""):
        with pytest.raises(ConfigError) as caught:
            parse_output(spec)
        assert str(caught.value) == f"`--output`: invalid output {spec!r} (hint: {hint})"
    with pytest.raises(ConfigError, match="invalid image reference in output 'docker://Bad/Name'"):
        parse_output("docker://Bad/Name")
    with pytest.raises(ConfigError, match="cannot push to a digest"):
        parse_output("docker://127.0.0.1:5000/app@sha256:" + "a" * 64)
    assert parse_output("docker-daemon:app").kind == "docker"
    assert str(parse_output(f"oci-archive:{tmp_path}/x.tar")) == f"oci-archive:{tmp_path}/x.tar"


def test_layout_digest_mismatch_detected(tmp_path: Path, image: Image) -> None:
    root = tmp_path / "layout"
    write_oci_layout(image, root)
    manifest = root / "blobs" / "sha256" / image.digest.hex
    os.chmod(manifest, 0o644)
    manifest.write_bytes(image.manifest + b" ")
    with pytest.raises(BaseImageError, match="does not match its digest"):
        read_oci_layout(root)


# --- output specs that cannot work are refused before the build ------------------------


def test_an_output_of_the_wrong_kind_of_path_is_refused_up_front(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-dir").mkdir()
    with pytest.raises(ConfigError, match="exists and is not a directory"):
        parse_output(f"oci:{tmp_path / 'a-file'}")
    for kind in ("oci-archive", "docker-archive"):
        with pytest.raises(ConfigError, match="is a directory"):
            parse_output(f"{kind}:{tmp_path / 'a-dir'}")
    assert parse_output(f"oci:{tmp_path / 'a-dir'}").kind == "oci"


@pytest.mark.parametrize("kind", ["oci", "oci-archive", "docker-archive"])
def test_an_unwritable_output_is_an_output_error(image: Image, tmp_path: Path, kind: str) -> None:
    where = tmp_path / "out"
    where.mkdir()
    (where / "a-file").write_text("x")
    sink = parse_output(f"{kind}:{where / 'a-file' / 'out'}")  # its parent is a file
    with pytest.raises(OutputError, match=f"cannot write the {kind} output") as caught:
        sink.write(image, TransportContext())
    assert str(caught.value).startswith(f"{where / 'a-file' / 'out'}: ")
    assert [p.name for p in where.iterdir()] == ["a-file"]



def _write_one(args: tuple[str, str]) -> str:
    """One process's write of its own image into the shared layout (for the test below)."""
    directory, tag = args
    sources = Path(directory).parent / "sources" / tag
    sources.mkdir(parents=True)
    made = synthetic_image([memory_layer(files(sources, {f"app/{tag}.py": tag.encode()}))])
    write_oci_layout(made, Path(directory), ref_name=tag)
    return str(made.digest)


def test_builds_writing_one_layout_at_once_all_end_up_in_its_index(tmp_path: Path) -> None:
    """Before, two builds into one layout both exited 0 and index.json listed one of them."""
    from concurrent.futures import ProcessPoolExecutor

    layout = tmp_path / "shared-layout"
    tags = [f"image-{n}" for n in range(8)]
    with ProcessPoolExecutor(4) as pool:
        digests = list(pool.map(_write_one, [(str(layout), tag) for tag in tags]))
    index = json.loads((layout / "index.json").read_bytes())
    listed = {m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"] for m in index["manifests"]}
    assert listed == dict(zip(tags, digests, strict=True))
    for tag in tags:
        read_oci_layout(layout, ref_name=tag)  # every image whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared-layout", "sources"]  # no leftovers


@pytest.mark.parametrize("kind", ["oci-archive", "docker-archive"])
def test_an_archive_that_already_holds_the_image_is_left_alone(image: Image, tmp_path: Path, kind: str) -> None:
    """A no-change rebuild reports the archive `unchanged` and does not rewrite it (the same
    file, not a new one of the same bytes); anything else that differs is written again."""
    target = tmp_path / "image.tar"
    sink = parse_output(f"{kind}:{target}")
    first = sink.write(image, TransportContext(), tags=["app:1"])
    before = target.stat()
    again = sink.write(image, TransportContext(), tags=["app:1"])
    assert (first.status, again.status) == ("written", "unchanged")
    assert (target.stat().st_ino, target.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    other_tag = sink.write(image, TransportContext(), tags=["app:2"])  # the tag is in the archive
    assert other_tag.status == "written" and target.stat().st_ino != before.st_ino
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])  # cut off: the next build must mend it
    mended = sink.write(image, TransportContext(), tags=["app:2"])
    assert mended.status == "written" and target.read_bytes() == data
    (tmp_path / "v2").mkdir()
    changed = synthetic_image([memory_layer(files(tmp_path / "v2", {"app/main.py": b"print('v2')\n"}))])
    assert sink.write(changed, TransportContext(), tags=["app:2"]).status == "written"
    reader = read_oci_archive if kind == "oci-archive" else read_docker_archive
    assert reader(target).digest == changed.digest
