"""A registry behind a failing network: `layerplan build` and `plan` through tests/support/faultproxy.py.

The proxy sits on 127.0.0.1 in front of the real test registry (the distribution
registry at 127.0.0.1:5000, and the basic-auth one at :5001) and, per rule, loses upload
sessions, resets connections, cuts bodies short or stalls. The example project's layers
come from the session's cache (tests/direct_build), built on the synthetic base, which
is copied into the registry once; each case is a real pull and push.

Every case asserts what a user sees: exit 0 and an image whose manifest in the registry
is the one the report names and that a clean build reproduces from the same cache; or
exit 2 with one line saying what failed, no tag written. Never a traceback, never a
secret, never a temporary file left in the cache.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from engine import AUTH_PASSWORD, AUTH_USER
from faultproxy import FaultProxy, Rule, registry_error
from registry_testimage import make_image, unique_repository
from synthbase import SyntheticBase, synthetic_base  # noqa: F401

from layerplan.cache.atomic import TEMP_MARKER
from layerplan.http import RetryPolicy
from layerplan.http.watchdog import AFTER_ENV
from layerplan.oci import Digest, ImageReference
from layerplan.registry import Credentials, RegistryClient, RegistryConnectionError, RegistryError, push_image
from tests.direct_build.conftest import ExampleBuild, example_build  # noqa: F401
from tests.direct_build.helpers import layerplan

pytestmark = pytest.mark.engine

TAG = "3.11-bookworm"
UPLOADS = r"/blobs/uploads/[^?]+"  # an upload session's location (not the POST that opens one)
LOST = registry_error("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
SECRETS = (AUTH_PASSWORD, base64.b64encode(f"{AUTH_USER}:{AUTH_PASSWORD}".encode()).decode())


@dataclass(frozen=True)
class Upstream:
    """A real registry holding the synthetic base under ``prefix``/python:TAG."""

    address: str
    prefix: str
    docker_config: Path | None = None
    """A ``DOCKER_CONFIG`` directory, for a registry that wants credentials."""


def _seed(address: str, synthetic: SyntheticBase, creds: str | None = None) -> str:
    prefix = f"layerplan-test/faults-{uuid.uuid4().hex[:12]}"
    command = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false"]
    if creds:
        command += ["--dest-creds", creds]
    command += [f"oci:{synthetic.layout}:latest", f"docker://{address}/{prefix}/python:{TAG}"]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return prefix


@pytest.fixture(scope="module")
def plain(registry: str, synthetic_base: SyntheticBase) -> Upstream:  # noqa: F811
    return Upstream(registry, _seed(registry, synthetic_base))


@pytest.fixture(scope="module")
def with_auth(auth_registry: str, synthetic_base: SyntheticBase, tmp_path_factory: pytest.TempPathFactory) -> Upstream:  # noqa: F811
    prefix = _seed(auth_registry, synthetic_base, f"{AUTH_USER}:{AUTH_PASSWORD}")
    return Upstream(auth_registry, prefix, tmp_path_factory.mktemp("docker"))


@pytest.fixture
def faults(plain: Upstream) -> Iterator[FaultProxy]:
    with FaultProxy(plain.address) as proxy:
        yield proxy


class Run:
    """Builds of the example through one proxy, on the base it serves, into fresh repositories."""

    def __init__(self, example: ExampleBuild, proxy: FaultProxy, upstream: Upstream) -> None:
        self.example, self.proxy, self.upstream = example, proxy, upstream
        self.base = f"{proxy.address}/{upstream.prefix}/python:{TAG}"
        self.outputs: list[str] = []

    def build(self, name: str, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        self.outputs.append(target := f"{self.proxy.address}/{self.upstream.prefix}/{name}:1")
        login: dict[str, str] = {}
        if self.upstream.docker_config is not None:  # the credentials, for the proxy's address
            auths = {self.proxy.address: {"auth": SECRETS[1]}}
            (self.upstream.docker_config / "config.json").write_text(json.dumps({"auths": auths}))
            login = {"DOCKER_CONFIG": str(self.upstream.docker_config)}
        result = layerplan(
            "build", str(self.example.project), "--base", self.base, "--output", f"docker://{target}",
            "--cache-dir", str(self.example.cache), "--json", env={**self.example.env, **login, **(env or {})},
        )  # fmt: skip
        _no_secret_no_traceback(result)
        _cache_is_clean(self.example.cache)
        return result

    def succeeded(self, result: subprocess.CompletedProcess[str]) -> str:
        """The image digest: the registry (asked directly) holds it under the tag, every
        blob included, and a clean build from the same cache gives the same digest."""
        assert result.returncode == 0, result.stderr
        digest = str(json.loads(result.stdout)["digest"])
        ref = ImageReference.parse(self.outputs[-1])
        direct = self._direct()
        manifest = direct.get_manifest(ref.repository, "1")
        assert str(manifest.digest) == digest
        for layer in [manifest.json()["config"], *manifest.json()["layers"]]:
            assert direct.head_blob(ref.repository, Digest.parse(layer["digest"])) == layer["size"]
        self.proxy.clear()
        again = self.build(f"clean-{uuid.uuid4().hex[:8]}")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["digest"] == digest
        return digest

    def failed(self, result: subprocess.CompletedProcess[str], *needles: str) -> str:
        """One line on stderr, exit 2, and no tag pushed."""
        assert result.returncode == 2, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        for needle in needles:
            assert needle in lines[0], lines[0]
        ref = ImageReference.parse(self.outputs[-1])
        with pytest.raises(RegistryError, match="404"):
            self._direct().get_manifest(ref.repository, "1")
        return lines[0]

    def _direct(self) -> RegistryClient:
        login = Credentials(username=AUTH_USER, password=AUTH_PASSWORD) if self.upstream.docker_config else None
        return RegistryClient(self.upstream.address, credentials=login)


def _no_secret_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    for secret in SECRETS:
        assert secret not in output


def _cache_is_clean(cache: Path) -> None:
    leftovers = [p for p in cache.rglob("*") if TEMP_MARKER in p.name or p.name.startswith(".download-")]
    assert leftovers == []


@pytest.fixture
def run(example_build: ExampleBuild, faults: FaultProxy, plain: Upstream) -> Run:  # noqa: F811
    return Run(example_build, faults, plain)


# ---------------------------------------------------------------- upload sessions


def test_an_upload_session_lost_once_is_started_again(run: Run, faults: FaultProxy) -> None:
    faults.add(Rule("PUT", UPLOADS, "status", status=404, body=LOST, times=1))
    faults.add(Rule("PATCH", UPLOADS, "status", status=404, body=LOST, times=1))
    result = run.build("lost-once")
    run.succeeded(result)
    assert faults.done("PUT", UPLOADS, "status")  # the fault did meet an upload


def test_an_upload_session_lost_every_time_is_one_line(run: Run, faults: FaultProxy) -> None:
    faults.add(Rule("PUT", UPLOADS, "status", status=404, body=LOST, times=None))
    faults.add(Rule("PATCH", UPLOADS, "status", status=404, body=LOST, times=None))
    line = run.failed(run.build("lost-always"), "lost the upload session 4 times in a row", "BLOB_UPLOAD_UNKNOWN",
                      run.proxy.address)  # fmt: skip
    assert "replicas" in line  # the hint names the usual cause
    # Bounded: each blob that started opened exactly four sessions, one per try.
    opened = len(faults.done("POST", r"/blobs/uploads/$"))
    assert opened > 0 and opened % 4 == 0


def test_every_upload_reset_names_the_request(run: Run, faults: FaultProxy) -> None:
    faults.add(Rule("PUT", UPLOADS, "reset", times=None))
    faults.add(Rule("PATCH", UPLOADS, "reset", times=None))
    line = run.failed(run.build("reset-always"), "the connection was reset on every PUT of the blob's upload (5 tries; ",
                      f"{run.proxy.address} answers other requests")  # fmt: skip
    assert "could not connect" not in line and "is the registry running" not in line


# ---------------------------------------------------------------- bodies cut short


@pytest.mark.parametrize("framed", [True, False], ids=["content-length", "until-close"])
def test_a_manifest_cut_short_is_read_again(run: Run, faults: FaultProxy, framed: bool) -> None:
    faults.add(Rule("GET", r"/python/manifests/", "cut", keep=40, framed=framed, times=1))
    result = run.build(f"manifest-cut-{'framed' if framed else 'unframed'}")
    assert faults.done("GET", r"/python/manifests/", "cut")
    run.succeeded(result)


@pytest.mark.parametrize("framed", [True, False], ids=["content-length", "until-close"])
def test_a_config_or_layer_cut_short_is_read_again(
    faults: FaultProxy, plain: Upstream, synthetic_base: SyntheticBase, example_build: ExampleBuild,  # noqa: F811
    tmp_path: Path, framed: bool,
) -> None:  # fmt: skip
    """Planning on the base reads its manifest, config and layer (a fresh cache: all downloaded)."""
    base = f"{faults.address}/{plain.prefix}/python:{TAG}"
    faults.add(Rule("GET", r"/python/blobs/sha256:", "cut", keep=100, framed=framed, times=2))
    result = layerplan("plan", str(example_build.project), "--base", base, "--cache-dir", str(tmp_path / "cache"), "--json")
    _no_secret_no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert len(faults.done("GET", r"/python/blobs/sha256:", "cut")) == 2  # config and layer, once each
    faults.clear()
    clean = layerplan("plan", str(example_build.project), "--base", base, "--cache-dir", str(tmp_path / "clean"), "--json")
    assert json.loads(result.stdout) == json.loads(clean.stdout)
    _cache_is_clean(tmp_path / "cache")


# ---------------------------------------------------------------- a stalled registry


def test_a_stalled_request_says_what_it_waits_for(run: Run, faults: FaultProxy) -> None:
    # A threshold of 0.2 s (test-only setting) against a 2 s stall: the line must appear.
    faults.add(Rule("PUT", r"/manifests/1$", "stall", seconds=2.0, times=1))
    result = run.build("stalled", env={AFTER_ENV: "0.2"})
    assert f"waiting for {faults.address} (PUT manifest {run.upstream.prefix}/stalled:1, " in result.stderr
    run.succeeded(result)


def test_a_registry_that_moves_says_nothing(run: Run) -> None:
    result = run.build("quiet", env={AFTER_ENV: "5"})
    assert "waiting for" not in result.stderr
    run.succeeded(result)


# ---------------------------------------------------------------- with credentials


def test_faults_on_a_registry_with_credentials_leak_nothing(example_build: ExampleBuild, with_auth: Upstream) -> None:  # noqa: F811
    """Basic auth through the proxy: a lost session and a cut manifest recover; a lasting
    failure is one line; the password is in no output (``Run.build`` checks each)."""
    with FaultProxy(with_auth.address) as proxy:
        run = Run(example_build, proxy, with_auth)
        proxy.add(Rule("PUT", UPLOADS, "status", status=404, body=LOST, times=1))
        proxy.add(Rule("GET", r"/python/manifests/", "cut", keep=40, framed=False, times=1))
        run.succeeded(run.build("auth-faults"))
    # A proxy of its own (a new registry address): no blob known there, so all go up again.
    with FaultProxy(with_auth.address) as proxy:
        run = Run(example_build, proxy, with_auth)
        proxy.add(Rule("PUT", UPLOADS, "reset", times=None))
        proxy.add(Rule("PATCH", UPLOADS, "reset", times=None))
        run.failed(run.build("auth-reset"), "the connection was reset")


# ---------------------------------------------------------------- chunked uploads (the client itself)


def _chunked_client(address: str) -> RegistryClient:
    """Every blob over 1 KiB goes up in PATCHes of 1 KiB; retries do not wait."""
    return RegistryClient(address, monolithic_limit=1024, chunk_size=1024,
                          retry=RetryPolicy(attempts=3, backoff=0.0, sleep=lambda _: None))  # fmt: skip


def test_a_chunked_upload_whose_session_is_lost_starts_again(faults: FaultProxy) -> None:
    image = make_image([{"app/data.bin": os.urandom(5000)}])
    ref = ImageReference.parse(f"{faults.address}/{unique_repository('chunked-lost')}:v1")
    faults.add(Rule("PATCH", UPLOADS, "status", status=404, body=LOST, times=1))
    faults.add(Rule("PATCH", UPLOADS, "status", status=416, times=1))  # where the upload stands, forgotten
    report = push_image(_chunked_client(faults.address), ref, image.image())
    assert report.manifest_digest == image.manifest_digest
    assert len(faults.done("PATCH", UPLOADS, "status")) == 2
    assert RegistryClient(faults.upstream).get_manifest(ref.repository, "v1").data == image.manifest


def test_every_patch_reset_says_so(faults: FaultProxy) -> None:
    image = make_image([{"app/data.bin": os.urandom(5000)}])
    ref = ImageReference.parse(f"{faults.address}/{unique_repository('chunked-reset')}:v1")
    faults.add(Rule("PATCH", UPLOADS, "reset", times=None))
    with pytest.raises(RegistryConnectionError) as caught:
        push_image(_chunked_client(faults.address), ref, image.image())
    text = str(caught.value)
    assert "the connection was reset on every PATCH of the blob's upload (3 tries; last: " in text
    assert f"{faults.address} answers other requests" in text and "\n" not in text
    assert len(faults.done("PATCH", UPLOADS, "reset")) == 3

