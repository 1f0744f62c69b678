"""push_image (it takes an ``Image``) and the blob/manifest endpoints against the real test registry."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import uuid

import pytest
import requests
from registry_testimage import make_image, sha256_file, unique_repository

from layerplan.oci import Descriptor, Digest, ImageReference
from layerplan.oci.descriptor import MediaType
from layerplan.registry import BlobStatus, RegistryClient, RegistryNotFoundError, push_image

pytestmark = pytest.mark.engine


class RecordingSession(requests.Session):
    """A Session that remembers each request's method and URL path."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        self.calls.append((method, url.split("?", 1)[0]))
        return super().request(method, url, *args, **kwargs)


def _unique_files(extra: int = 0) -> list[dict[str, bytes]]:
    token = uuid.uuid4().hex.encode()
    files = [{"app/hello.txt": b"hello " + token + b"\n"}, {"app/data.bin": os.urandom(2048) + token}]
    return files + [{f"app/extra{i}.txt": token * (i + 1)} for i in range(extra)]


def test_push_tiny_image_and_read_it_back(registry: str, tmp_path) -> None:
    client = RegistryClient(registry)
    image = make_image(_unique_files())
    ref = ImageReference.parse(f"{registry}/{unique_repository('tiny')}:v1")

    report = push_image(client, ref, image.image())

    assert report.manifest_digest == image.manifest_digest
    assert report.reference == ref.with_digest(image.manifest_digest)
    assert [b.status for b in report.blobs] == [BlobStatus.PUSHED] * 3
    assert report.bytes_uploaded == sum(d.size for d, _ in image.layers) + len(image.config)

    fetched = client.get_manifest(ref.repository, "v1")
    assert fetched.data == image.manifest  # byte for byte: its digest must not change
    assert fetched.media_type == MediaType.OCI_MANIFEST
    assert fetched.digest == image.manifest_digest
    assert client.get_manifest(ref.repository, image.manifest_digest).data == image.manifest
    assert client.read_blob(ref.repository, image.config_digest) == image.config
    for desc, blob in image.layers:
        assert client.head_blob(ref.repository, desc.digest) == desc.size
        target = tmp_path / "blobs" / desc.digest.hex
        assert client.get_blob(ref.repository, desc.digest, target, size=desc.size) == desc.size
        assert target.read_bytes() == blob


def test_second_push_uploads_nothing(registry: str) -> None:
    client = RegistryClient(registry)
    image = make_image(_unique_files())
    ref = ImageReference.parse(f"{registry}/{unique_repository('again')}:v1")
    first = push_image(client, ref, image.image())
    assert first.count(BlobStatus.PUSHED) == 3

    second = push_image(client, ref, image.image())

    assert [b.status for b in second.blobs] == [BlobStatus.PRESENT] * 3
    assert second.bytes_uploaded == 0
    assert second.manifest_digest == first.manifest_digest


def test_push_to_another_repository_mounts_instead_of_uploading(registry: str) -> None:
    client = RegistryClient(registry)
    image = make_image(_unique_files(extra=2))
    source = ImageReference.parse(f"{registry}/{unique_repository('source')}:v1")
    push_image(client, source, image.image())
    target = ImageReference.parse(f"{registry}/{unique_repository('target')}:v1")
    # The target repository has none of the blobs: HEAD answers 404 there.
    assert client.head_blob(target.repository, image.layers[0][0].digest) is None

    # as pulled from `source`: every blob (the config too) says it came from there
    report = push_image(client, target, image.image(origin=source))

    assert [b.status for b in report.blobs] == [BlobStatus.MOUNTED] * 5
    assert report.bytes_uploaded == 0
    assert client.get_manifest(target.repository, "v1").digest == image.manifest_digest
    for desc, _ in image.layers:
        assert client.head_blob(target.repository, desc.digest) == desc.size


def test_mount_from_a_repository_without_the_blob_declines(registry: str) -> None:
    client = RegistryClient(registry)
    missing = Digest.of_bytes(uuid.uuid4().bytes)
    assert client.mount_blob(unique_repository("m"), missing, unique_repository("nothing-here")) is False


def test_large_blob_goes_up_in_chunks(registry: str, tmp_path) -> None:
    session = RecordingSession()
    client = RegistryClient(registry, session=session)
    repository = unique_repository("large")
    blob = os.urandom(9 * 1024 * 1024 + 123)  # over the 8 MiB monolithic limit: 2 PATCHes
    digest = Digest.of_bytes(blob)

    sent = client.upload_blob(repository, digest, len(blob), lambda: _bytes_io(blob))

    assert sent == len(blob)
    methods = [m for m, url in session.calls if "/blobs/uploads/" in url]
    assert methods == ["POST", "PATCH", "PATCH", "PUT"]
    assert client.head_blob(repository, digest) == len(blob)
    target = tmp_path / "large.bin"
    client.get_blob(repository, digest, target)
    assert sha256_file(target) == str(digest)


def test_small_blob_goes_up_in_one_put(registry: str) -> None:
    session = RecordingSession()
    client = RegistryClient(registry, session=session)
    repository = unique_repository("small")
    blob = os.urandom(4096)
    client.upload_blob(repository, Digest.of_bytes(blob), len(blob), lambda: _bytes_io(blob))
    assert [m for m, url in session.calls if "/blobs/uploads/" in url] == ["POST", "PUT"]


def test_base_layer_neither_present_nor_mountable_is_a_clear_error(registry: str, tmp_path) -> None:
    client = RegistryClient(registry)
    phantom = Descriptor(media_type=MediaType.OCI_LAYER_GZIP, digest=Digest.of_bytes(uuid.uuid4().bytes), size=10)
    base_config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [str(phantom.digest)]}}
    sample = make_image(_unique_files(), base_config=base_config, base_layers=[phantom])
    origin = ImageReference.parse(f"{registry}/{unique_repository('python')}:3")
    # the base layer opens as a pulled one does: a download from its origin, which lacks it
    image = sample.image(base=lambda desc: _pull(client, origin.repository, desc, tmp_path), origin=origin)
    ref = ImageReference.parse(f"{registry}/{unique_repository('phantom')}:v1")

    with pytest.raises(RegistryNotFoundError) as caught:
        push_image(client, ref, image)

    assert str(phantom.digest) in str(caught.value)
    assert f"nor mountable from {origin.repository}" in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(RegistryNotFoundError):  # the manifest was never written
        client.get_manifest(ref.repository, "v1")


def test_base_image_manifest_and_config_agree_with_skopeo(registry: str, base_image: str, tmp_path) -> None:
    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed (scripts/test-engine.sh start installs it)")
    ref = ImageReference.parse(base_image)
    client = RegistryClient(ref.registry)

    fetched = client.get_image_manifest(ref.repository, ref.reference, "linux/amd64")
    manifest = fetched.json()
    config_desc = Descriptor.from_json(manifest["config"])
    config = json.loads(client.read_blob(ref.repository, config_desc.digest))

    assert fetched.media_type in MediaType.MANIFESTS
    assert config["os"] == "linux" and config["architecture"] == "amd64"
    assert len(config["rootfs"]["diff_ids"]) == len(manifest["layers"])
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{base_image}"],
        capture_output=True, text=True, check=True, timeout=120,
    )
    assert json.loads(inspected.stdout)["Digest"] == str(fetched.digest)

    # The first layer downloads, verifies, and is the gzip'd tar whose diff_id the config lists.
    first = Descriptor.from_json(manifest["layers"][0])
    target = tmp_path / "layer.tar.gz"
    client.get_blob(ref.repository, first.digest, target, size=first.size)
    with gzip.open(target, "rb") as stream:
        diff_id = Digest("sha256", _sha256_stream(stream))
    assert str(diff_id) == config["rootfs"]["diff_ids"][0]


def test_image_on_the_base_mounts_its_layers_and_runs(registry: str, base_image: str, docker_client) -> None:
    base = ImageReference.parse(base_image)
    client = RegistryClient(registry)
    fetched = client.get_image_manifest(base.repository, base.reference, "linux/amd64")
    base_manifest = fetched.json()
    base_config = json.loads(client.read_blob(base.repository, Digest.parse(base_manifest["config"]["digest"])))
    base_layers = [Descriptor.from_json(d) for d in base_manifest["layers"]]
    token = uuid.uuid4().hex
    image = make_image(
        [{"srv/hello.py": f"print('hello from layerplan {token}')\n".encode()}],
        base_config=base_config,
        base_layers=base_layers,
        docker_types=True,
    )
    ref = ImageReference.parse(f"{registry}/{unique_repository('onbase')}:v1")

    def unreadable(desc: Descriptor):  # type: ignore[no-untyped-def]
        def open_blob():  # type: ignore[no-untyped-def]
            raise AssertionError(f"base layer {desc.digest} was read: it should have been mounted")

        return open_blob

    report = push_image(client, ref, image.image(base=unreadable, origin=base.with_digest(fetched.digest)))

    statuses = {b.digest: b.status for b in report.blobs}
    assert all(statuses[d.digest] is BlobStatus.MOUNTED for d in base_layers)
    assert statuses[image.layers[0][0].digest] is BlobStatus.PUSHED
    assert report.bytes_uploaded == image.layers[0][0].size + len(image.config)

    pinned = str(report.reference).replace(":v1@", "@")
    docker_client.images.pull(pinned)
    try:
        output = docker_client.containers.run(
            pinned, ["python3", "/srv/hello.py"], network_mode="none", remove=True
        )
        assert output.decode().strip() == f"hello from layerplan {token}"
    finally:
        docker_client.images.remove(pinned, force=True)


def _pull(client: RegistryClient, repository: str, desc: Descriptor, tmp_path):  # type: ignore[no-untyped-def]
    def open_blob():  # type: ignore[no-untyped-def]
        target = tmp_path / desc.digest.hex
        client.get_blob(repository, desc.digest, target, size=desc.size)
        return target.open("rb")

    return open_blob


def _bytes_io(data: bytes):  # type: ignore[no-untyped-def]
    import io

    return io.BytesIO(data)


def _sha256_stream(stream) -> str:  # type: ignore[no-untyped-def]
    import hashlib

    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()
