"""Every kind through the one protocol: a sink writes an image, the matching source reads
it back, and independent readers (skopeo, the engine, the registry) agree.

Real components only: files, the local registry, the Docker engine and skopeo.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from lp_image_helpers import files, memory_layer, synthetic_image
from memregistry import MemRegistry, memregistry  # noqa: F401

from layerplan.cache import BlobCache, BlobLocations
from layerplan.image import Image
from layerplan.image.cached import cached_image
from layerplan.oci import ImageReference
from layerplan.transports import (
    KINDS,
    ClientPool,
    DockerEngine,
    ImageSink,
    ImageSource,
    Registry,
    TransportContext,
    parse_output,
    parse_source,
    pull_image,
)


@pytest.fixture
def image(tmp_path: Path) -> Image:
    """A small image (two layers) whose manifest is the canonical one of its config and
    layers, as a docker-archive reader synthesises it: every kind can give it back whole."""
    return synthetic_image(
        [
            memory_layer(files(tmp_path, {"usr/bin/python3.11": b"py", "usr/bin/python3": "->python3.11"})),
            memory_layer(files(tmp_path, {f"app/{uuid.uuid4().hex}.py": uuid.uuid4().bytes})),
        ]
    )


def layer_bytes(image: Image) -> list[bytes]:
    out = []
    for layer in image.layers:
        with layer.open() as handle:
            out.append(handle.read())
    return out


def round_trip(sink: ImageSink, source: ImageSource, image: Image, context: TransportContext) -> Image:
    """Write ``image`` with ``sink``, read it back with ``source``; the bytes of the copy."""
    result = sink.write(image, context, tags=("example.com/team/app:1",))
    assert (result.spec, result.kind) == (str(sink), sink.kind)
    with source.open(None, context) as back:
        # copied out of the block: the engine's save file goes when it ends
        return Image(manifest=back.manifest, config=back.config, layers=back.layers)


# --- the table -----------------------------------------------------------------------


def test_every_kind_is_in_the_table_once() -> None:
    sinks = [kind.sink_prefix for kind in KINDS if kind.sink_prefix]
    assert sinks == ["oci:", "oci-archive:", "docker-archive:", "docker://", "docker-daemon:"]
    prefixes = [prefix for kind in KINDS for prefix in kind.source_prefixes]
    assert sorted(prefixes) == sorted(["oci:", "oci-archive:", "docker-archive:", "docker-daemon:", "docker://"])


def test_parsing_specs_does_not_load_the_registry_stack() -> None:
    """``build_image`` parses outputs before the app wheel's background build starts; the
    registry stack (``requests``) loads only when a registry is used."""
    code = (
        "import sys; from layerplan.transports import parse_output, parse_source; "
        "parse_output('docker://r.example/app:1'); parse_source('python:3.12-slim'); "
        "print(sorted(m for m in ('requests', 'docker', 'layerplan.registry') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"


# --- files: no engine needed ---------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "base"),
    [
        ("oci:{dir}/layout", "oci:{dir}/layout:example.com/team/app:1"),
        ("oci:{dir}/layout", "oci:{dir}/layout"),  # one image: no ref name needed
        ("oci-archive:{dir}/image.tar", "oci-archive:{dir}/image.tar:example.com/team/app:1"),
        ("docker-archive:{dir}/image.tar", "docker-archive:{dir}/image.tar:example.com/team/app:1"),
    ],
)
def test_file_kinds_round_trip(image: Image, tmp_path: Path, output: str, base: str) -> None:
    spec = output.format(dir=tmp_path)
    sink = parse_output(spec)
    result = sink.write(image, TransportContext(), tags=("example.com/team/app:1",))
    assert (result.spec, result.kind, result.location, result.blobs) == (spec, sink.kind, spec.split(":", 1)[1], ())
    source = parse_source(base.format(dir=tmp_path))  # parsed once written: a base must exist
    assert source.kind == sink.kind and not source.remote
    with source.open(None, TransportContext()) as back:
        assert back.digest == image.digest
        assert (back.manifest, back.config) == (image.manifest, image.config)
        assert layer_bytes(back) == layer_bytes(image)


# --- through the engine, the registry and skopeo -------------------------------------


def skopeo(*args: str) -> dict[str, Any]:
    done = subprocess.run(["skopeo", "inspect", *args], check=True, capture_output=True, text=True, timeout=300)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.engine
def test_skopeo_reads_what_the_file_sinks_wrote(image: Image, tmp_path: Path) -> None:
    context = TransportContext()
    parse_output(f"oci:{tmp_path}/layout").write(image, context, tags=("v1",))
    parse_output(f"oci-archive:{tmp_path}/image.oci.tar").write(image, context)
    parse_output(f"docker-archive:{tmp_path}/image.docker.tar").write(image, context, tags=("app:1",))
    assert skopeo(f"oci:{tmp_path}/layout:v1")["Digest"] == str(image.digest)
    assert skopeo(f"oci-archive:{tmp_path}/image.oci.tar:latest")["Digest"] == str(image.digest)
    # docker-archive carries no manifest (skopeo makes its own): compare what it does carry
    docker = skopeo(f"docker-archive:{tmp_path}/image.docker.tar")
    config = json.loads(image.config)
    assert docker["Layers"] == [str(layer.diff_id) for layer in image.layers]  # skopeo lists them by diff_id
    assert (docker["Os"], docker["Architecture"]) == (config["os"], config["architecture"])


@pytest.fixture
def tag(docker_client: Any) -> Iterator[str]:
    name = f"layerplan-test/protocol-{uuid.uuid4().hex[:12]}:1"
    yield name
    import docker.errors

    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_client.images.remove(name, force=True)


@pytest.mark.engine
def test_engine_round_trip(image: Image, docker_client: Any, tag: str) -> None:
    sink, source = parse_output(f"docker-daemon:{tag}"), parse_source(f"docker-daemon:{tag}")
    assert isinstance(sink, DockerEngine) and isinstance(source, DockerEngine)
    back = round_trip(sink, source, image, TransportContext(docker=docker_client))
    # `docker save` (20.10) stores plain tar layers, so the synthesised manifest differs;
    # what the engine keeps is the config, byte for byte (its image id), and the diff_ids
    assert back.config == image.config
    assert docker_client.images.get(tag).id == str(image.config_descriptor.digest)
    assert [layer.diff_id for layer in back.layers] == [layer.diff_id for layer in image.layers]


def unique(registry: str, name: str) -> str:
    return f"{registry}/layerplan-test/{name}-{uuid.uuid4().hex[:12]}:v1"


@pytest.mark.engine
def test_registry_round_trip(image: Image, registry: str) -> None:
    ref = unique(registry, "protocol")
    sink, source = parse_output(f"docker://{ref}"), parse_source(ref)
    assert isinstance(sink, Registry) and isinstance(source, Registry) and source.remote and not source.pinned
    context = TransportContext(clients=ClientPool())
    result = sink.write(image, context)
    assert result.location == ref and [b.status for b in result.blobs] == ["pushed"] * 3
    with source.open(None, context) as back:
        assert back.digest == image.digest
        assert (back.manifest, back.config) == (image.manifest, image.config)
        assert layer_bytes(back) == layer_bytes(image)
        assert {layer.origin for layer in back.layers} == {back.origin} == {ImageReference.parse(ref)}
    assert skopeo("--tls-verify=false", f"docker://{ref}")["Digest"] == str(image.digest)


@pytest.mark.engine
@pytest.mark.parametrize("through_cache", [False, True])
def test_registry_copy_keeps_the_digest_and_mounts(base_image: str, registry: str, tmp_path: Path, through_cache: bool) -> None:
    """A pulled base pushed to another repository of its registry: nothing is uploaded or
    downloaded (not even into the cache that wraps it), and the copy is byte-identical."""
    source = parse_source(base_image)
    target = unique(registry, "copy")
    sink = parse_output(f"docker://{target}")
    context = TransportContext()
    cache = BlobCache(tmp_path / "cache")
    with source.open(None, context) as pulled:
        copied = cached_image(pulled, cache) if through_cache else pulled
        result = sink.write(copied, context)
    assert {b.status for b in result.blobs} == {"mounted"}
    assert len(result.blobs) == len({layer.digest for layer in pulled.layers}) + 1  # and the config
    assert result.bytes_uploaded == 0
    assert not (tmp_path / "cache" / "blobs").exists()  # no layer was opened
    original = skopeo("--tls-verify=false", f"docker://{base_image}")["Digest"]
    assert original == str(pulled.digest)
    assert skopeo("--tls-verify=false", f"docker://{target}")["Digest"] == original


def test_a_pull_and_a_push_tell_the_context_where_blobs_are(image: Image, memregistry: MemRegistry, tmp_path: Path) -> None:  # noqa: F811
    """The context's locations learn what a pull read; a push of the same blobs (here a
    local image: no origin) to another repository mounts them from there."""
    registry, locations = memregistry.address, BlobLocations(tmp_path / "cache")
    context = TransportContext(locations=locations)
    blobs = [layer.digest for layer in image.layers] + [image.config_descriptor.digest]
    parse_output(f"docker://{registry}/team/service-a:1").write(image, TransportContext())  # remembers nothing
    assert [locations.repositories(registry, digest) for digest in blobs] == [()] * 3

    with parse_source(f"{registry}/team/service-a:1").open(None, context):
        assert [locations.repositories(registry, digest) for digest in blobs] == [("team/service-a",)] * 3
    memregistry.reset_log()
    result = parse_output(f"docker://{registry}/team/service-b:1").write(image, context)

    assert [(b.status, b.mounted_from) for b in result.blobs] == [("mounted", "team/service-a")] * 3
    assert (result.bytes_uploaded, result.bytes_mounted) == (0, sum(b.size for b in result.blobs))
    assert memregistry.uploaded_bytes() == {}
    assert [locations.repositories(registry, digest) for digest in blobs] == [("team/service-b", "team/service-a")] * 3


@pytest.mark.engine
def test_pulled_layers_open_through_the_cache_once(image: Image, registry: str, tmp_path: Path) -> None:
    ref = ImageReference.parse(unique(registry, "cached"))
    parse_output(f"docker://{ref}").write(image, TransportContext())
    session = RecordingSession()
    from layerplan.registry import RegistryClient

    pulled = pull_image(RegistryClient(registry, session=session), ref)
    cache = BlobCache(tmp_path / "cache")
    wrapped = cached_image(pulled, cache)
    assert (wrapped.manifest, wrapped.origin) == (pulled.manifest, pulled.origin)
    first, second = layer_bytes(wrapped), layer_bytes(wrapped)
    assert first == second == layer_bytes(image)
    assert all(cache.has(layer.digest) for layer in image.layers)
    blob_gets = [url for method, url in session.calls if method == "GET" and "/blobs/" in url]
    # the config once (at pull), then each layer once: the second read came from the cache
    assert len(blob_gets) == 1 + len(image.layers)


class RecordingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        self.calls.append((method, url))
        return super().request(method, url, *args, **kwargs)


def test_a_pull_keeps_the_config_and_reads_it_back_only_when_whole(image: Image, memregistry: MemRegistry, tmp_path: Path) -> None:  # noqa: F811
    """With ``documents``, the config fetched by digest is kept and read from there next
    time; a kept copy whose bytes no longer match its digest is fetched again and mended."""
    ref = f"{memregistry.address}/team/kept:1"
    parse_output(f"docker://{ref}").write(image, TransportContext())
    cache = BlobCache(tmp_path / "cache")
    context = TransportContext(documents=cache)
    config_gets = lambda: len(memregistry.calls("GET", path=f"/blobs/{image.config_descriptor.digest}"))  # noqa: E731

    for expected_gets in (1, 1):  # fetched once, then read from the cache
        with parse_source(ref).open(None, context) as pulled:
            assert pulled.config == image.config
        assert config_gets() == expected_gets
    cache.blob_path(image.config_descriptor.digest).write_bytes(b'{"tampered": true}')
    with parse_source(ref).open(None, context) as pulled:
        assert pulled.config == image.config and pulled.digest == image.digest
    assert config_gets() == 2
    assert cache.blob_path(image.config_descriptor.digest).read_bytes() == image.config


def test_a_special_file_in_place_of_a_kept_config_is_not_read(image: Image, memregistry: MemRegistry, tmp_path: Path) -> None:  # noqa: F811
    """A FIFO where the cache keeps the base's config (a damaged or hostile cache) is never
    opened (reading one waits forever for a writer): the config is fetched again and kept."""
    ref = f"{memregistry.address}/team/fifo:1"
    parse_output(f"docker://{ref}").write(image, TransportContext())
    cache = BlobCache(tmp_path / "cache")
    kept = cache.blob_path(image.config_descriptor.digest)
    kept.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(kept)

    with parse_source(ref).open(None, TransportContext(documents=cache)) as pulled:
        assert pulled.config == image.config

    assert kept.read_bytes() == image.config
