"""What only the engine proves about the outputs: an image loaded into it runs, the engine
as a base source (``docker save``), and why layers must not write under a base symlink.

skopeo's reading of every file output, and ``docker load`` / skopeo copy into the engine
of the archives (with the real example app running), are tested through the CLI:
tests/direct_build/test_build_direct.py::test_skopeo_reads_every_file_output and
tests/direct_build/test_build_engine.py::test_archives_load_into_docker_and_skopeo.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from layerplan.cache import BlobCache
from layerplan.image import (
    DEFAULT_EPOCH,
    Image,
    LayerOptions,
    NewLayer,
    RuntimeConfig,
    assemble_image,
    build_layer_into_cache,
    detect_platform,
    image_annotations,
)
from layerplan.transports import (
    TransportContext,
    load_into_daemon,
    parse_source,
    read_oci_layout,
    write_oci_layout,
)

pytestmark = pytest.mark.engine

SCRIPT = "import sys, platform\nprint('hello from layerplan', platform.python_version(), sys.executable)\n"


def expected_output(image: Image) -> str:
    """What SCRIPT prints in ``image``: the version and path platform detection found."""
    detected, _ = detect_platform(image)
    return f"hello from layerplan {detected.python_version} {detected.python_path}\n"


@pytest.fixture(scope="module")
def app_image(base_layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Image:
    """The real base image plus one tiny layer holding a script, run by the base's Python."""
    base = read_oci_layout(base_layout)
    detected, symlinks = detect_platform(base)
    stage = tmp_path_factory.mktemp("stage")
    (stage / "app").mkdir()
    (stage / "app" / "hello.py").write_text(SCRIPT)
    cache = BlobCache(tmp_path_factory.mktemp("cache"))
    layer = build_layer_into_cache(stage, cache, options=LayerOptions(base_symlinks=symlinks))
    return assemble_image(
        base,
        [NewLayer(layer=layer, created_by="layerplan: app/hello.py")],
        runtime=RuntimeConfig(entrypoint=(detected.python_path, "/app/hello.py"), working_dir="/app"),
        epoch=DEFAULT_EPOCH,
        annotations=image_annotations(epoch=DEFAULT_EPOCH, base_name="python:3.11-bookworm"),
    )


@pytest.fixture
def tag(docker_client: Any) -> Iterator[str]:
    name = f"layerplan-test/{uuid.uuid4().hex[:12]}:1"
    yield name
    import docker.errors

    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_client.images.remove(name, force=True)


def run(docker_client: Any, image: str) -> str:
    output = docker_client.containers.run(image, network_mode="none", remove=True)
    return output.decode()


def skopeo(*args: str) -> str:
    return subprocess.run(["skopeo", *args], check=True, capture_output=True, text=True, timeout=300).stdout


def test_load_into_daemon_then_read_back(app_image: Image, docker_client: Any, tag: str) -> None:
    assert load_into_daemon(app_image, tags=[tag], client=docker_client) == [tag]
    assert run(docker_client, tag) == expected_output(app_image)
    # the engine as a base-image source: `docker save` (Docker 20.10's format, plain tar layers)
    engine = TransportContext(docker=docker_client)
    with parse_source(f"docker-daemon:{tag}").open(None, engine) as saved:
        assert saved.config == app_image.config
        assert [layer.diff_id for layer in saved.layers] == [layer.diff_id for layer in app_image.layers]
        detected, symlinks = detect_platform(saved)
        assert (detected.python_path, detected.libc_version) == ("/usr/bin/python3.11", "2.36")
        assert "/lib" in symlinks


def test_docker_save_archive_as_base(app_image: Image, tmp_path: Path, docker_client: Any, tag: str) -> None:
    """A file written by the real `docker save` is a base image layerplan can build on."""
    load_into_daemon(app_image, tags=[tag], client=docker_client)
    with open(tmp_path / "saved.tar", "wb") as out:
        out.writelines(docker_client.images.get(tag).save(named=True))
    with parse_source(f"docker-archive:{tmp_path}/saved.tar:{tag}").open(None, TransportContext()) as base:
        detected, _ = detect_platform(base)
        assert detected.python_version == "3.11.2"
        rebuilt = assemble_image(base, [], runtime=RuntimeConfig(cmd=("true",)), epoch=0)
        write_oci_layout(rebuilt, tmp_path / "layout")
    info = json.loads(skopeo("inspect", f"oci:{tmp_path}/layout"))
    assert len(info["Layers"]) == 2


def test_writing_beneath_a_base_symlink_breaks_the_image(base_layout: Path, docker_client: Any, tag: str) -> None:
    """Why tarlayer refuses any path under a base symlink, instead of only skipping the parent entry.

    Docker's overlay2 unpacks a layer into an empty directory, creating missing parents as
    real directories; the upper ``lib/`` then hides the base's ``/lib -> usr/lib`` link, the
    dynamic loader disappears, and nothing in the image starts.
    """
    import gzip
    import io

    from layerplan.image import Layer, SymlinkConflictError, bytes_opener, write_layer
    from layerplan.image.model import LayerBlob
    from layerplan.image.tarformat import REGTYPE, TarHeader, TarWriter
    from layerplan.image.tarlayer import LayerEntry
    from layerplan.oci import Digest

    base = read_oci_layout(base_layout)
    _, symlinks = detect_platform(base)
    raw = io.BytesIO()
    tar = TarWriter(raw)
    tar.add_bytes(TarHeader(name="lib/extra.txt", type=REGTYPE, mode=0o644), b"x")  # no "lib/" entry
    tar.close()
    data = gzip.compress(raw.getvalue(), mtime=0)
    blob = LayerBlob(digest=Digest.of_bytes(data), diff_id=Digest.of_bytes(raw.getvalue()), size=len(data))
    image = assemble_image(
        base,
        [NewLayer(layer=Layer.from_blob(blob, bytes_opener(data)), created_by="file under /lib, no parent entry")],
        runtime=RuntimeConfig(entrypoint=("/usr/bin/python3.11", "-c", "print('ran')")),
        epoch=0,
    )
    load_into_daemon(image, tags=[tag], client=docker_client)
    import docker.errors

    with pytest.raises(docker.errors.ContainerError, match="no such file or directory"):
        run(docker_client, tag)
    source = base_layout / "oci-layout"
    with pytest.raises(SymlinkConflictError, match="/lib/extra.txt"):
        write_layer([LayerEntry(path="lib/extra.txt", kind="file", source=source)], io.BytesIO(),
                    LayerOptions(base_symlinks=symlinks))
