"""push_image mounts from every repository known to hold a blob, not only from its origin.

Engine-free: the in-memory registry (tests/support/memregistry.py) counts what each
repository received, and the store's ``locations`` records (``cache.BlobLocations``)
are the memory a push reads and writes, as in a build.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from memregistry import MemRegistry, memregistry  # noqa: F401
from registry_testimage import SampleImage, make_image

from layerplan.cache import BlobLocations
from layerplan.oci import Digest, ImageReference
from layerplan.registry import BlobStatus, Credentials, RegistryClient, RegistryError, push_image
from layerplan.registry.mounts import MAX_MOUNT_TRIES, mount_candidates


def sample() -> SampleImage:
    token = uuid.uuid4().hex.encode()
    return make_image([{"app/deps.txt": b"shared dependency " * 200 + token}, {"app/main.py": b"print(1)\n" + token}])


def digests(image: SampleImage) -> list[Digest]:
    """The blobs a push sends: layers, then the config."""
    return [desc.digest for desc, _ in image.layers] + [image.config_digest]


def ref(registry: MemRegistry, repository: str) -> ImageReference:
    return ImageReference.parse(f"{registry.address}/{repository}:1")


def test_candidates_are_the_origin_then_the_known_most_recent_first(tmp_path: Path) -> None:
    known = BlobLocations(tmp_path)
    digest = Digest.of_bytes(b"layer")
    target = ImageReference.parse("reg.example:5000/team/service-c:1")
    for repository in ("team/service-a", "team/service-c", "team/service-b"):
        known.remember("reg.example:5000", repository, [digest])
    known.remember("other.example", "team/service-z", [digest])
    origin = ImageReference.parse("reg.example:5000/library/python:3.11")

    assert mount_candidates(digest, origin, target, known) == ("library/python", "team/service-b", "team/service-a")
    # the target itself is never a source, an origin on another registry is not one either
    elsewhere = ImageReference.parse("docker.io/library/python:3.11")
    assert mount_candidates(digest, elsewhere, target, known) == ("team/service-b", "team/service-a")
    assert mount_candidates(digest, None, target, None) == ()
    assert len(mount_candidates(digest, origin, target, known, limit=2)) == 2
    for n in range(10):
        known.remember("reg.example:5000", f"team/many-{n}", [digest])
    assert len(mount_candidates(digest, origin, target, known)) == MAX_MOUNT_TRIES


def test_a_second_repository_mounts_every_blob_the_first_holds(memregistry: MemRegistry, tmp_path: Path) -> None:  # noqa: F811
    client, known, image = RegistryClient(memregistry.address), BlobLocations(tmp_path), sample()
    first = push_image(client, ref(memregistry, "team/service-a"), image.image(), locations=known)
    assert first.count(BlobStatus.PUSHED) == 3
    assert all(known.repositories(memregistry.address, d) == ("team/service-a",) for d in digests(image))
    memregistry.reset_log()

    second = push_image(client, ref(memregistry, "team/service-b"), image.image(), locations=known)

    assert [(b.status, b.mounted_from) for b in second.blobs] == [(BlobStatus.MOUNTED, "team/service-a")] * 3
    assert second.bytes_uploaded == 0 and memregistry.uploaded_bytes() == {}
    assert second.bytes_mounted == sum(b.size for b in second.blobs)
    assert all(memregistry.has_blob("team/service-b", str(d)) for d in digests(image))
    # the newest holder first: a third service tries service-b before service-a
    assert known.repositories(memregistry.address, digests(image)[0]) == ("team/service-b", "team/service-a")


def test_without_locations_a_push_uploads_again(memregistry: MemRegistry) -> None:  # noqa: F811
    """What every service of a monorepo paid before: each shared blob uploaded per repository."""
    client, image = RegistryClient(memregistry.address), sample()
    push_image(client, ref(memregistry, "team/service-a"), image.image())
    memregistry.reset_log()
    second = push_image(client, ref(memregistry, "team/service-b"), image.image())
    assert second.count(BlobStatus.PUSHED) == 3 and second.bytes_mounted == 0
    assert sum(memregistry.uploaded_bytes("team/service-b").values()) == second.bytes_uploaded > 0


def test_a_declined_mount_tries_the_next_candidate_and_is_forgotten(memregistry: MemRegistry, tmp_path: Path) -> None:  # noqa: F811
    client, known, image = RegistryClient(memregistry.address), BlobLocations(tmp_path), sample()
    push_image(client, ref(memregistry, "team/service-a"), image.image(), locations=known)
    # a repository that held the blobs once, and was deleted since: the most recent record
    known.remember(memregistry.address, "team/deleted", digests(image))
    memregistry.reset_log()

    report = push_image(client, ref(memregistry, "team/service-b"), image.image(), locations=known)

    assert [(b.status, b.mounted_from) for b in report.blobs] == [(BlobStatus.MOUNTED, "team/service-a")] * 3
    assert memregistry.uploaded_bytes() == {}
    tries: dict[str, list[str]] = {}
    for request in memregistry.calls("POST", "/team/service-b/blobs/uploads/"):
        tries.setdefault(request.query["mount"], []).append(request.query["from"])
    assert tries == {str(d): ["team/deleted", "team/service-a"] for d in digests(image)}
    assert len(memregistry.calls("DELETE", "/team/service-b/blobs/uploads/")) == 3  # each opened upload cancelled
    for digest in digests(image):
        assert known.repositories(memregistry.address, digest) == ("team/service-b", "team/service-a")


def test_when_every_candidate_declines_the_blob_is_uploaded(memregistry: MemRegistry, tmp_path: Path) -> None:  # noqa: F811
    client, known, image = RegistryClient(memregistry.address), BlobLocations(tmp_path), sample()
    known.remember(memregistry.address, "team/gone", digests(image))
    report = push_image(client, ref(memregistry, "team/service-b"), image.image(), locations=known)
    assert report.count(BlobStatus.PUSHED) == 3 and report.bytes_mounted == 0
    assert report.bytes_uploaded == sum(memregistry.uploaded_bytes("team/service-b").values())
    assert memregistry.manifest("team/service-b", "1")[0] == image.manifest
    assert known.repositories(memregistry.address, digests(image)[0]) == ("team/service-b",)


def test_a_source_the_credentials_may_not_read_is_a_declined_mount(memregistry: MemRegistry, tmp_path: Path) -> None:  # noqa: F811
    client, known, image = RegistryClient(memregistry.address), BlobLocations(tmp_path), sample()
    push_image(client, ref(memregistry, "team/service-a"), image.image(), locations=known)
    # the registry refuses the first mount (a token without pull on the source): 403, not retried
    memregistry.fail("POST", r"/team/service-b/blobs/uploads/$", status=403)

    report = push_image(client, ref(memregistry, "team/service-b"), image.image(), locations=known, max_workers=1)

    assert [b.status for b in report.blobs] == [BlobStatus.PUSHED, BlobStatus.MOUNTED, BlobStatus.MOUNTED]
    assert report.bytes_uploaded == report.blobs[0].size == sum(memregistry.uploaded_bytes("team/service-b").values())
    # refused, not declined: the source may well hold it (for credentials that can read it)
    assert known.repositories(memregistry.address, digests(image)[0]) == ("team/service-b", "team/service-a")


def test_a_failing_registry_is_not_a_declined_mount(memregistry: MemRegistry, tmp_path: Path) -> None:  # noqa: F811
    client, known, image = RegistryClient(memregistry.address), BlobLocations(tmp_path), sample()
    known.remember(memregistry.address, "team/service-a", digests(image))
    memregistry.fail("POST", r"/team/service-b/blobs/uploads/$", status=503, times=1000, retry_after="0")
    with pytest.raises(RegistryError, match="503") as caught:
        push_image(client, ref(memregistry, "team/service-b"), image.image(), locations=known)
    assert caught.value.temporary


def test_with_bearer_tokens_a_mount_asks_for_pull_on_the_source(tmp_path: Path) -> None:
    with MemRegistry(auth="bearer") as registry:
        client = RegistryClient(registry.address, credentials=Credentials(username=registry.username, password=registry.password))
        known, image = BlobLocations(tmp_path), sample()
        push_image(client, ref(registry, "team/service-a"), image.image(), locations=known)
        registry.reset_log()
        report = push_image(client, ref(registry, "team/service-b"), image.image(), locations=known)
        # memregistry lets a mount through only with a token that has pull on the source
        # (otherwise: 401, a declined mount, and an upload)
        assert {b.status for b in report.blobs} == {BlobStatus.MOUNTED} and registry.uploaded_bytes() == {}
        assert registry.tokens_issued >= 2
