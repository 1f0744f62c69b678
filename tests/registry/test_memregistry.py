"""The in-memory test registry answers like the distribution registry (2.8) where a client can tell.

The same protocol walk runs against both (the real one only where the engine runs); both
must give the answers the distribution spec asks for. skopeo, an independent client,
copies an image into the in-memory registry and out again. Engine-free tests rely on
this file: were the two to drift, a client could pass against one and fail on the other.
"""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine import unavailable
from memregistry import MemRegistry
from ocifiles import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    FileSpec,
    canonical,
    digest_of,
    make_image,
    make_layer,
    read_oci_layout,
)
from synthbase import SyntheticBase, synthetic_base  # noqa: F401

OCTETS = {"Content-Type": "application/octet-stream"}


class Client:
    """A bare HTTP/1.1 client for one registry address (the standard library's)."""

    def __init__(self, address: str, authorization: str | None = None) -> None:
        self.address = address
        self.authorization = authorization

    def __call__(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, *, chunked: bool = False
    ) -> tuple[int, str | None, dict[str, str], bytes]:
        """Status, the first error code of the body, headers, body. ``chunked``: send the body
        with ``Transfer-Encoding: chunked`` (as Go clients stream bodies of unknown length)."""
        host, port = self.address.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        all_headers = dict(headers or {})
        if self.authorization:
            all_headers["Authorization"] = self.authorization
        try:
            if chunked:
                pieces = iter([body[: len(body) // 2], body[len(body) // 2 :]])
                connection.request(method, path, body=pieces, headers=all_headers, encode_chunked=True)
            else:
                connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            fields = {k.title(): v for k, v in response.getheaders()}
        finally:
            connection.close()
        try:
            code = json.loads(data)["errors"][0]["code"]
        except (ValueError, KeyError, IndexError, TypeError):
            code = None
        return response.status, code, fields, data

    def path_of(self, location: str) -> str:
        """A ``Location`` as a path (distribution answers absolute URLs)."""
        return location.split(self.address, 1)[-1]

    def with_digest(self, location: str, digest: str) -> str:
        path = self.path_of(location)
        return path + ("&" if "?" in path else "?") + f"digest={digest}"

    def upload(self, repository: str, data: bytes) -> int:
        """POST, then one PUT with the blob (how layerplan sends a small blob); the PUT's status."""
        status, _, headers, _ = self("POST", f"/v2/{repository}/blobs/uploads/")
        assert status == 202
        status, _, _, _ = self("PUT", self.with_digest(headers["Location"], digest_of(data)), data, OCTETS)
        return status


@pytest.fixture(params=["memory", pytest.param("distribution", marks=pytest.mark.engine)])
def client(request: pytest.FixtureRequest) -> Iterator[Client]:
    if request.param == "memory":
        with MemRegistry() as registry:
            yield Client(registry.address)
    else:
        yield Client(request.getfixturevalue("registry"))


def test_blob_uploads_are_verified(client: Client) -> None:
    repository = f"layerplan-test/conformance-{uuid.uuid4().hex[:12]}"
    data = uuid.uuid4().bytes * 100
    digest = digest_of(data)

    status, _, headers, _ = client("POST", f"/v2/{repository}/blobs/uploads/")
    assert status == 202 and headers["Location"]
    status, code, _, _ = client("PUT", client.with_digest(headers["Location"], "sha256:" + "0" * 64), data, OCTETS)
    assert (status, code) == (400, "DIGEST_INVALID")
    assert client("HEAD", f"/v2/{repository}/blobs/{digest}")[0] == 404  # nothing stored under either digest

    assert client.upload(repository, data) == 201
    status, _, headers, _ = client("HEAD", f"/v2/{repository}/blobs/{digest}")
    assert (status, headers["Content-Length"]) == (200, str(len(data)))
    status, _, headers, body = client("GET", f"/v2/{repository}/blobs/{digest}")
    assert (status, body, headers["Docker-Content-Digest"]) == (200, data, digest)
    assert client("GET", f"/v2/{repository}/blobs/sha256:{'2' * 64}")[:2] == (404, "BLOB_UNKNOWN")


def test_a_whole_blob_in_the_post_is_not_taken(client: Client) -> None:
    """distribution 2.8 ignores ``POST ?digest=`` with a body: it opens a session (202)."""
    repository = f"layerplan-test/conformance-{uuid.uuid4().hex[:12]}"
    data = uuid.uuid4().bytes
    status, _, headers, _ = client("POST", f"/v2/{repository}/blobs/uploads/?digest={digest_of(data)}", data, OCTETS)
    assert status == 202 and headers["Location"]
    assert client("HEAD", f"/v2/{repository}/blobs/{digest_of(data)}")[0] == 404


def test_chunked_upload(client: Client) -> None:
    repository = f"layerplan-test/conformance-{uuid.uuid4().hex[:12]}"
    data = uuid.uuid4().bytes * 5000
    status, _, headers, _ = client("POST", f"/v2/{repository}/blobs/uploads/")
    location = headers["Location"]
    for start, end in ((0, 1000), (1000, len(data))):
        status, _, headers, _ = client(
            "PATCH", client.path_of(location), data[start:end], {**OCTETS, "Content-Range": f"{start}-{end - 1}"},
            chunked=start > 0,
        )
        assert (status, headers["Range"]) == (202, f"0-{end - 1}")
        location = headers["Location"]
    status, _, headers, _ = client("PUT", client.with_digest(location, digest_of(data)), b"", OCTETS)
    assert (status, headers["Docker-Content-Digest"]) == (201, digest_of(data))
    assert client("GET", f"/v2/{repository}/blobs/{digest_of(data)}")[3] == data


def test_manifests_need_their_blobs_and_say_what_they_are(client: Client) -> None:
    repository = f"layerplan-test/conformance-{uuid.uuid4().hex[:12]}"
    image = make_image([make_layer([FileSpec("a", data=uuid.uuid4().bytes)])], {"architecture": "amd64", "os": "linux", "config": {}})
    put = f"/v2/{repository}/manifests/v1"
    assert client("PUT", put, image.manifest_bytes, {"Content-Type": OCI_MANIFEST})[:2] == (400, "MANIFEST_BLOB_UNKNOWN")
    for data in image.blobs().values():
        assert client.upload(repository, data) == 201
    assert client("PUT", put, image.manifest_bytes, {"Content-Type": DOCKER_MANIFEST})[:2] == (400, "MANIFEST_INVALID")
    wrong = f"/v2/{repository}/manifests/sha256:{'1' * 64}"
    assert client("PUT", wrong, image.manifest_bytes, {"Content-Type": OCI_MANIFEST})[:2] == (400, "DIGEST_INVALID")
    status, _, headers, _ = client("PUT", put, image.manifest_bytes, {"Content-Type": OCI_MANIFEST})
    assert (status, headers["Docker-Content-Digest"]) == (201, image.digest)

    status, _, headers, body = client("GET", put, headers={"Accept": OCI_MANIFEST})
    assert (status, headers["Content-Type"], headers["Docker-Content-Digest"], body) == (200, OCI_MANIFEST, image.digest, image.manifest_bytes)
    status, _, headers, _ = client("HEAD", f"/v2/{repository}/manifests/{image.digest}", headers={"Accept": OCI_MANIFEST})
    assert (status, headers["Content-Length"]) == (200, str(len(image.manifest_bytes)))
    assert client("GET", put, headers={"Accept": DOCKER_MANIFEST})[:2] == (404, "MANIFEST_UNKNOWN")
    assert client("GET", f"/v2/{repository}/manifests/v2", headers={"Accept": OCI_MANIFEST})[:2] == (404, "MANIFEST_UNKNOWN")
    assert client("GET", f"/v2/{repository}-none/manifests/v1", headers={"Accept": OCI_MANIFEST})[:2] == (404, "MANIFEST_UNKNOWN")

    def index(digest: str, size: int) -> bytes:
        entry = {"mediaType": OCI_MANIFEST, "digest": digest, "size": size, "platform": {"os": "linux", "architecture": "amd64"}}
        return canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]})

    put_index = f"/v2/{repository}/manifests/multi"
    assert client("PUT", put_index, index("sha256:" + "3" * 64, 10), {"Content-Type": OCI_INDEX})[:2] == (400, "MANIFEST_BLOB_UNKNOWN")
    assert client("PUT", put_index, index(image.digest, len(image.manifest_bytes)), {"Content-Type": OCI_INDEX})[0] == 201
    status, _, headers, _ = client("GET", put_index, headers={"Accept": f"{OCI_INDEX}, {OCI_MANIFEST}"})
    assert (status, headers["Content-Type"]) == (200, OCI_INDEX)


def test_cross_repository_mount(client: Client) -> None:
    source = f"layerplan-test/conformance-{uuid.uuid4().hex[:12]}"
    data = uuid.uuid4().bytes * 10
    assert client.upload(source, data) == 201
    target = source + "-mounted"
    assert client("HEAD", f"/v2/{target}/blobs/{digest_of(data)}")[0] == 404
    status, _, headers, _ = client("POST", f"/v2/{target}/blobs/uploads/?mount={digest_of(data)}&from={source}")
    assert (status, headers["Docker-Content-Digest"]) == (201, digest_of(data))
    assert client("HEAD", f"/v2/{target}/blobs/{digest_of(data)}")[0] == 200
    # a blob the source lacks: no mount, an upload session instead
    status, _, headers, _ = client("POST", f"/v2/{target}/blobs/uploads/?mount=sha256:{'4' * 64}&from={source}")
    assert status == 202 and headers["Location"]


# ---------------------------------------------------------------- memregistry only


def test_a_patch_out_of_order_is_refused() -> None:
    """The spec's 416 (distribution 2.8 does not check): a client sending chunks twice is caught."""
    with MemRegistry() as registry:
        client = Client(registry.address)
        _, _, headers, _ = client("POST", "/v2/team/app/blobs/uploads/")
        _, _, headers, _ = client("PATCH", client.path_of(headers["Location"]), b"x" * 10, {**OCTETS, "Content-Range": "0-9"})
        status, code, _, _ = client("PATCH", client.path_of(headers["Location"]), b"y" * 10, {**OCTETS, "Content-Range": "0-9"})
        assert (status, code) == (416, "BLOB_UPLOAD_INVALID")


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_auth_is_asked_for_and_checked(scheme: str) -> None:
    with MemRegistry(auth=scheme) as registry:  # type: ignore[arg-type]
        anonymous = Client(registry.address)
        status, code, headers, _ = anonymous("GET", "/v2/")
        assert (status, code) == (401, "UNAUTHORIZED")
        assert headers["Www-Authenticate"].lower().startswith(scheme)
        good = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
        if scheme == "basic":
            assert Client(registry.address, f"Basic {good}")("GET", "/v2/")[0] == 200
            return
        assert 'scope="repository:team/app:pull"' in anonymous("GET", "/v2/team/app/manifests/1")[2]["Www-Authenticate"]
        bad = base64.b64encode(f"{registry.username}:nope".encode()).decode()
        assert Client(registry.address, f"Basic {bad}")("GET", "/token?service=memregistry&scope=repository:team/app:pull")[0] == 401
        _, _, _, body = Client(registry.address, f"Basic {good}")("GET", "/token?service=memregistry&scope=repository:team/app:pull")
        pull_only = Client(registry.address, f"Bearer {json.loads(body)['token']}")
        assert pull_only("GET", "/v2/team/app/manifests/1")[:2] == (404, "MANIFEST_UNKNOWN")  # past auth
        status, _, headers, _ = pull_only("POST", "/v2/team/app/blobs/uploads/")
        assert status == 401 and 'scope="repository:team/app:pull,push"' in headers["Www-Authenticate"]


def _skopeo() -> str:
    found = shutil.which("skopeo")
    if found is None:
        unavailable("skopeo is not installed")
    return found


@pytest.mark.parametrize("auth", [None, "bearer"])
def test_skopeo_copies_into_it_and_out_again(synthetic_base: SyntheticBase, tmp_path: Path, auth: str | None) -> None:  # noqa: F811
    """skopeo (containers/image: HEAD, then POST + a PATCH without Content-Range + an empty PUT;
    its own token client) agrees."""
    skopeo = _skopeo()
    with MemRegistry(auth=auth) as registry:  # type: ignore[arg-type]
        creds = ["--dest-creds", f"{registry.username}:{registry.password}"] if auth else []
        ref = f"docker://{registry.address}/copied/python:3.11"
        subprocess.run([skopeo, "copy", "--quiet", "--dest-tls-verify=false", *creds, f"oci:{synthetic_base.layout}:latest", ref],
                       check=True, capture_output=True, timeout=120)
        manifest, media_type = registry.manifest("copied/python", "3.11")
        assert digest_of(manifest) == synthetic_base.image.digest and media_type == OCI_MANIFEST
        assert registry.uploaded_bytes() == {d: len(b) for d, b in synthetic_base.image.blobs().items()}
        src_creds = ["--src-creds", f"{registry.username}:{registry.password}"] if auth else []
        subprocess.run([skopeo, "copy", "--quiet", "--src-tls-verify=false", *src_creds, ref, f"oci:{tmp_path / 'out'}:latest"],
                       check=True, capture_output=True, timeout=120)
    copied, _ = read_oci_layout(tmp_path / "out")
    assert (copied.manifest_bytes, copied.config_bytes, copied.layers) == (
        synthetic_base.image.manifest_bytes, synthetic_base.image.config_bytes, synthetic_base.image.layers)
