"""A lost upload session starts the blob again from a fresh POST, a bounded number of times.

Engine-free: the in-memory registry behind tests/support/faultproxy.py, which answers
an upload's PUT or PATCH as a registry that lost the session would (404
``BLOB_UPLOAD_UNKNOWN``, ``BLOB_UPLOAD_INVALID``, 416). The real registry's cases, through
the CLI, are in test_registry_faults.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from faultproxy import FaultProxy, Rule, registry_error
from memregistry import MemRegistry
from registry_testimage import make_image

from layerplan.http import RetryPolicy
from layerplan.oci import ImageReference
from layerplan.registry import RegistryClient, RegistryError, push_image
from layerplan.registry.transport import describe
from layerplan.registry.upload import MAX_SESSION_RESTARTS, UploadSessionLost

UPLOADS = r"/blobs/uploads/[^?]+"


@pytest.fixture
def faults() -> Iterator[FaultProxy]:
    with MemRegistry() as registry, FaultProxy(registry.address) as proxy:
        yield proxy


def _push(proxy: FaultProxy, *, chunked: bool, waits: list[float] | None = None) -> tuple[object, object]:
    image = make_image([{"app/data.bin": os.urandom(5000)}])
    limit = 1024 if chunked else 1 << 20
    client = RegistryClient(proxy.address, monolithic_limit=limit, chunk_size=1024,
                            retry=RetryPolicy(attempts=3, backoff=0.01, sleep=(waits if waits is not None else []).append))  # fmt: skip
    ref = ImageReference.parse(f"{proxy.address}/team/app:1")
    return image, push_image(client, ref, image.image())


LOSSES = {
    "404 BLOB_UPLOAD_UNKNOWN": (404, registry_error("BLOB_UPLOAD_UNKNOWN")),
    "404 without a body": (404, b""),
    "400 BLOB_UPLOAD_INVALID": (400, registry_error("BLOB_UPLOAD_INVALID")),
    "416": (416, b""),
}


@pytest.mark.parametrize("chunked", [False, True], ids=["put", "patch"])
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_a_session_lost_once_starts_over_from_a_fresh_post(faults: FaultProxy, loss: str, chunked: bool) -> None:
    status, body = LOSSES[loss]
    faults.add(Rule("PATCH" if chunked else "PUT", UPLOADS, "status", status=status, body=body, times=1))
    image, report = _push(faults, chunked=chunked)
    assert report.manifest_digest == image.manifest_digest  # type: ignore[attr-defined]
    assert len(faults.done("PATCH" if chunked else "PUT", UPLOADS, "status")) == 1
    opened = len(faults.done("POST", r"/blobs/uploads/$"))
    assert opened == 3  # a layer and the config, one of them twice


def test_a_session_lost_every_time_is_one_error_after_bounded_restarts(faults: FaultProxy) -> None:
    faults.add(Rule("PUT", UPLOADS, "status", status=404, body=registry_error("BLOB_UPLOAD_UNKNOWN"), times=None))
    waits: list[float] = []
    with pytest.raises(UploadSessionLost) as caught:
        _push(faults, chunked=False, waits=waits)
    text = str(caught.value)
    assert f"{faults.address} lost the upload session {MAX_SESSION_RESTARTS + 1} times in a row" in text
    assert "(the PUT of a fresh session was answered 404 BLOB_UPLOAD_UNKNOWN)" in text and "\n" not in text
    assert len(waits) % MAX_SESSION_RESTARTS == 0 and waits  # a short wait before each fresh session


def test_a_refusal_that_is_not_a_lost_session_is_not_retried(faults: FaultProxy) -> None:
    faults.add(Rule("PUT", UPLOADS, "status", status=400, body=registry_error("DIGEST_INVALID"), times=None))
    with pytest.raises(RegistryError, match="DIGEST_INVALID") as caught:
        _push(faults, chunked=False)
    assert not isinstance(caught.value, UploadSessionLost)
    assert len(faults.done("PUT", UPLOADS)) <= 2  # once per blob at most: nothing started over


def test_requests_are_described_for_messages() -> None:
    digest = "sha256:" + "ab" * 32
    assert describe("PUT", "http://r:5000/v2/team/app/manifests/1") == "PUT manifest team/app:1"
    assert describe("GET", f"http://r:5000/v2/team/app/manifests/{digest}") == "GET manifest team/app@abababababab"
    assert describe("HEAD", f"http://r:5000/v2/team/app/blobs/{digest}") == "HEAD blob abababababab"
    assert describe("PATCH", "http://r:5000/v2/team/app/blobs/uploads/1234?_state=x") == "PATCH upload to team/app"
    assert describe("GET", "http://r:5000/v2/") == "GET /v2/"


def test_the_bytes_told_as_they_go_add_up_to_what_was_sent_after_a_restart(faults: FaultProxy) -> None:
    """``on_bytes`` (the build's push progress) takes back what a failed try counted."""
    faults.add(Rule("PATCH", UPLOADS, "status", status=404, body=registry_error("BLOB_UPLOAD_UNKNOWN"), times=1))
    image = make_image([{"app/data.bin": os.urandom(5000)}])
    client = RegistryClient(faults.address, monolithic_limit=1024, chunk_size=1024,
                            retry=RetryPolicy(attempts=3, backoff=0.01, sleep=[].append))  # fmt: skip
    told: list[int] = []
    report = push_image(client, ImageReference.parse(f"{faults.address}/team/app:1"), image.image(), on_bytes=told.append)
    assert any(n < 0 for n in told)  # the restart took back what the lost session read
    assert sum(told) == report.bytes_uploaded > 5000
