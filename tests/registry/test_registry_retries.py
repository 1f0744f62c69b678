"""Manifest, config and layer reads are retried by the one policy of layerplan.http.

A real registry cannot be made to fail on cue, so these serve the distribution API's
read endpoints from tests/loopback.py on 127.0.0.1: each temporary failure (503 with
Retry-After, 429, a refused connection, a body cut short) is met once, then the read
succeeds; a 404 is not retried; lasting failures end in one clear line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from loopback import LoopbackServer, running

from layerplan.http import RetryPolicy
from layerplan.oci import Digest
from layerplan.oci.descriptor import MediaType
from layerplan.registry import RegistryClient, RegistryConnectionError, RegistryError, RegistryNotFoundError

CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
LAYER = os.urandom(300_000)
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": MediaType.OCI_MANIFEST,
        "config": {"mediaType": MediaType.OCI_CONFIG, "digest": str(Digest.of_bytes(CONFIG)), "size": len(CONFIG)},
        "layers": [{"mediaType": MediaType.OCI_LAYER_GZIP, "digest": str(Digest.of_bytes(LAYER)), "size": len(LAYER)}],
    }
).encode()
MANIFEST_PATH = "/v2/app/manifests/v1"
CONFIG_PATH = f"/v2/app/blobs/{Digest.of_bytes(CONFIG)}"
LAYER_PATH = f"/v2/app/blobs/{Digest.of_bytes(LAYER)}"

# failure -> the wait the policy chose (Retry-After when given, else the first backoff step)
FAILURES = {"503": 0.0, "429": 1.0, "cut": 0.01}


def _serve(server: LoopbackServer) -> None:
    server.serve(MANIFEST_PATH, MANIFEST, content_type=MediaType.OCI_MANIFEST,
                 headers={"Docker-Content-Digest": str(Digest.of_bytes(MANIFEST))})  # fmt: skip
    server.serve(CONFIG_PATH, CONFIG)
    server.serve(LAYER_PATH, LAYER)


def _read_manifest(client: RegistryClient, tmp_path: Path) -> bytes:
    return client.get_manifest("app", "v1").data


def _read_config(client: RegistryClient, tmp_path: Path) -> bytes:
    return client.read_blob("app", Digest.of_bytes(CONFIG))


def _read_layer(client: RegistryClient, tmp_path: Path) -> bytes:
    target = tmp_path / "blobs" / "layer"
    assert client.get_blob("app", Digest.of_bytes(LAYER), target, size=len(LAYER)) == len(LAYER)
    return target.read_bytes()


READS: dict[str, tuple[str, bytes, Callable[[RegistryClient, Path], bytes]]] = {
    "manifest": (MANIFEST_PATH, MANIFEST, _read_manifest),
    "config": (CONFIG_PATH, CONFIG, _read_config),
    "layer": (LAYER_PATH, LAYER, _read_layer),
}


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with running() as srv:
        _serve(srv)
        yield srv


@pytest.fixture
def sleeps() -> list[float]:
    return []


def _client(address: str, sleep: Callable[[float], None], attempts: int = 4) -> RegistryClient:
    return RegistryClient(address, retry=RetryPolicy(attempts=attempts, backoff=0.01, sleep=sleep))


@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("what", sorted(READS))
def test_one_temporary_failure_is_retried(server, sleeps, tmp_path, what, failure) -> None:  # type: ignore[no-untyped-def]
    path, body, read = READS[what]
    server.routes[path].failures = [failure]

    assert read(_client(server.address, sleeps.append), tmp_path) == body

    assert server.hits[path] == 2
    assert len(sleeps) == 1 and sleeps[0] == pytest.approx(FAILURES[failure], rel=0.1)
    assert not list(tmp_path.rglob(".download-*"))  # a cut attempt leaves no partial file


@pytest.mark.parametrize("what", sorted(READS))
def test_a_refused_connection_is_retried(sleeps, tmp_path, what) -> None:  # type: ignore[no-untyped-def]
    path, body, read = READS[what]
    with running(listening=False) as late:
        _serve(late)

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            late.listen()  # refused once, then up

        assert read(_client(late.address, sleep), tmp_path) == body
        assert late.hits[path] == 1 and len(sleeps) == 1


@pytest.mark.parametrize("what", sorted(READS))
def test_404_is_not_retried(server, sleeps, tmp_path, what) -> None:  # type: ignore[no-untyped-def]
    path, _, read = READS[what]
    server.routes[path].failures = ["404"]
    with pytest.raises(RegistryNotFoundError, match="answered HTTP 404"):
        read(_client(server.address, sleeps.append), tmp_path)
    assert server.hits[path] == 1 and sleeps == []


@pytest.mark.parametrize("what", sorted(READS))
def test_a_body_cut_short_every_time_is_one_clear_line(server, sleeps, tmp_path, what) -> None:  # type: ignore[no-untyped-def]
    path, _, read = READS[what]
    server.routes[path].failures = ["cut"] * 10
    with pytest.raises(RegistryConnectionError) as caught:
        read(_client(server.address, sleeps.append, attempts=3), tmp_path)
    text = str(caught.value)
    assert server.hits[path] == 3 and len(sleeps) == 2
    assert text.startswith(f"GET http://{server.address}{path}: the connection dropped mid-transfer (")
    assert ", after 3 tries (hint: the connection to" in text and "\n" not in text
    assert not list(tmp_path.rglob(".download-*"))  # no partial download left


def test_a_registry_that_stays_unavailable_reports_its_own_status(server, sleeps, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.routes[LAYER_PATH].failures = ["503"] * 10
    with pytest.raises(RegistryError, match="answered HTTP 503") as caught:
        _read_layer(_client(server.address, sleeps.append, attempts=3), tmp_path)
    assert caught.value.temporary and server.hits[LAYER_PATH] == 3 and sleeps == [0.0, 0.0]
