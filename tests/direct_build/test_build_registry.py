"""`layerplan build` against registries that fail, want credentials, or are not there.

The in-memory registry (tests/support/memregistry.py) injects the faults and checks the
credentials; the example's layers come from the session's cache, so each test is a push
(or a pull) and nothing else. The last test pushes the same build to the real registry
too and checks both registries saw the same push.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from memregistry import MemRegistry
from ocifiles import digest_of
from synthbase import SyntheticBase

from tests.direct_build.conftest import ExampleBuild
from tests.direct_build.helpers import build_json, layerplan, not_progress

BASE_REPOSITORY, BASE_TAG = "library/python", "3.11-bookworm"


def seed_base(registry: MemRegistry, base: SyntheticBase) -> str:
    registry.seed(BASE_REPOSITORY, BASE_TAG, base.image.manifest_bytes, base.image.blobs())
    return f"{registry.address}/{BASE_REPOSITORY}:{BASE_TAG}"


def push(example: ExampleBuild, base: str, target: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return layerplan(
        "build", str(example.project), "--base", base, "--output", f"docker://{target}",
        "--cache-dir", str(example.cache), "--json", env={**example.env, **(env or {})},
    )


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = not_progress(result.stderr).strip().splitlines()  # the build's progress lines come first
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def docker_config(directory: Path, registry: str, user: str, password: str) -> dict[str, str]:
    """``DOCKER_CONFIG`` pointing at a config.json with credentials for ``registry``."""
    directory.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
    return {"DOCKER_CONFIG": str(directory)}


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- faults


def test_503s_are_retried_and_the_push_completes(example_build: ExampleBuild, memregistry: MemRegistry, synthetic_base: SyntheticBase) -> None:
    base = seed_base(memregistry, synthetic_base)
    memregistry.fail("POST", r"/team/app/blobs/uploads/$", times=2)
    memregistry.fail("PUT", r"/team/app/manifests/1$", times=2)
    result = push(example_build, base, f"{memregistry.address}/team/app:1")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [r.status for r in memregistry.calls("PUT", "/manifests/1$")] == [503, 503, 201]
    assert sum(1 for r in memregistry.calls("POST", "/blobs/uploads/") if r.status == 503) == 2
    manifest, _ = memregistry.manifest("team/app", "1")
    assert digest_of(manifest) == report["digest"]  # the tag names what the report says
    for layer in json.loads(manifest)["layers"]:
        assert memregistry.has_blob("team/app", layer["digest"])


def test_a_registry_that_keeps_failing_is_one_line(example_build: ExampleBuild, memregistry: MemRegistry, synthetic_base: SyntheticBase) -> None:
    base = seed_base(memregistry, synthetic_base)
    # Retry-After: 0 (a registry may say when to come back): the retries need not wait
    memregistry.fail("PUT", r"/team/app/manifests/1$", times=100, retry_after="0")
    line = one_line_error(push(example_build, base, f"{memregistry.address}/team/app:1"), "503", memregistry.address)
    assert "try again later" in line
    assert len(memregistry.calls("PUT", "/manifests/")) > 1  # it did try again
    assert "team/app" not in memregistry.repos or not memregistry.repos["team/app"].tags


EMPTY_CONFIG = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
"""The OCI empty descriptor's blob (``{}``): the config of every SBOM and provenance manifest."""


def test_an_attachment_that_cannot_go_up_leaves_the_tag_where_it_was(
    example_build: ExampleBuild, memregistry: MemRegistry, synthetic_base: SyntheticBase
) -> None:
    """The SBOMs' blobs go up beside the image's; when one fails for good, the build is one
    line, exit 2, and the tag was never moved to an image without its attachments."""
    base = seed_base(memregistry, synthetic_base)
    memregistry.fail("HEAD", f"/team/attach/blobs/{EMPTY_CONFIG}$", times=100, status=500)
    one_line_error(push(example_build, base, f"{memregistry.address}/team/attach:1"), "500")
    assert "team/attach" not in memregistry.repos or not memregistry.repos["team/attach"].tags
    assert not memregistry.calls("PUT", "/team/attach/manifests/")


def test_a_download_cut_off_is_fetched_again(memregistry: MemRegistry, synthetic_base: SyntheticBase, example_build: ExampleBuild, tmp_path: Path) -> None:
    """Reading the base's files: a blob whose body stops midway is downloaded again, whole."""
    base = seed_base(memregistry, synthetic_base)
    (layer,) = synthetic_base.image.layers
    memregistry.cut_short("GET", digest_of(layer), keep=100)
    result = layerplan("plan", str(example_build.project), "--base", base, "--cache-dir", str(tmp_path / "cache"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["target"]["libc"] == "glibc-2.36"
    gets = memregistry.calls("GET", digest_of(layer))
    assert [r.sent for r in gets] == [100, len(layer)]


# ---------------------------------------------------------------- unreachable, credentials


def test_an_unreachable_registry_is_one_line(example_build: ExampleBuild, tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    one_line_error(push(example_build, example_build.base, f"{address}/nowhere/app:1"), address, "running")


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_wrong_credentials_are_one_line(example_build: ExampleBuild, tmp_path: Path, scheme: str) -> None:
    with MemRegistry(auth=scheme) as registry:  # type: ignore[arg-type]
        env = docker_config(tmp_path / "docker", registry.address, registry.username, "not-the-password")
        line = one_line_error(push(example_build, example_build.base, f"{registry.address}/team/app:1", env), "401", "docker login")
        assert registry.address in line
        assert registry.repos == {}  # nothing was stored


def test_a_failing_credential_helper_never_shows_its_output(example_build: ExampleBuild, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-leaky"
    helper.write_text("#!/bin/sh\necho '{\"Username\": \"u\", \"Secret\": \"hunter2-FAKE-SECRET\"}'\nexit 1\n")
    helper.chmod(0o755)
    with MemRegistry(auth="basic") as registry:
        (tmp_path / "docker").mkdir()
        (tmp_path / "docker" / "config.json").write_text(json.dumps({"credHelpers": {registry.address: "leaky"}}))
        env = {"DOCKER_CONFIG": str(tmp_path / "docker"), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
        result = push(example_build, example_build.base, f"{registry.address}/team/app:1", env)
        one_line_error(result, "docker-credential-leaky", "exit 1", "output is hidden")
        assert "hunter2" not in result.stderr + result.stdout
        assert registry.repos == {}


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_credentials_from_the_docker_config_pull_and_push(
    example_build: ExampleBuild, synthetic_base: SyntheticBase, tmp_path: Path, scheme: str
) -> None:
    """Base and output on one registry that wants credentials: pull, mount and push with them."""
    with MemRegistry(auth=scheme) as registry:  # type: ignore[arg-type]
        base = seed_base(registry, synthetic_base)
        env = docker_config(tmp_path / "docker", registry.address, registry.username, registry.password)
        result = push(example_build, base, f"{registry.address}/team/app:1", env)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        manifest, _ = registry.manifest("team/app", "1")
        assert digest_of(manifest) == report["digest"]
        (output,) = report["outputs"]
        assert [b["status"] for b in output["blobs"]][0] == "mounted"
        assert all(r.status != 401 for r in registry.requests[-3:])  # it ended authenticated
        if scheme == "bearer":
            assert registry.tokens_issued >= 2  # one for the pull, more for the push's scopes


# ---------------------------------------------------------------- the real registry agrees


def _push_summary(report: dict[str, Any]) -> dict[str, Any]:
    """What was mounted, pushed and sent, but the config: it names the base by the
    registry it came from (``org.opencontainers.image.base.name``), which differs."""
    (output,) = report["outputs"]
    config = report["config_digest"]
    blobs = [(b["digest"], b["status"], b["bytes_uploaded"]) for b in output["blobs"] if b["digest"] != config]
    return {
        "layers": [(layer["name"], layer["digest"]) for layer in report["layers"]],
        "blobs": blobs,
        "bytes_uploaded": sum(sent for _, _, sent in blobs),
    }


@pytest.mark.engine
def test_the_real_registry_sees_the_same_push(
    example_build: ExampleBuild, memregistry: MemRegistry, synthetic_base: SyntheticBase, registry: str, tmp_path: Path
) -> None:
    """The same build pushed to the in-memory registry and to the distribution registry:
    the same blobs mounted, pushed and sent, so tests against the former hold for the latter."""
    repository = f"layerplan-test/synthetic-{uuid.uuid4().hex[:12]}"
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{synthetic_base.layout}:latest",
         f"docker://{registry}/{repository}/python:{BASE_TAG}"],
        check=True, capture_output=True, timeout=120,
    )
    real = build_json(example_build.project, f"{registry}/{repository}/python:{BASE_TAG}",
                      f"docker://{registry}/{repository}/app:1", cache=example_build.cache, env=example_build.env)
    memregistry.seed(f"{repository}/python", BASE_TAG, synthetic_base.image.manifest_bytes, synthetic_base.image.blobs())
    memory = build_json(example_build.project, f"{memregistry.address}/{repository}/python:{BASE_TAG}",
                        f"docker://{memregistry.address}/{repository}/app:1", cache=example_build.cache, env=example_build.env)
    assert _push_summary(memory) == _push_summary(real)
    assert _push_summary(real)["blobs"][0][1] == "mounted"
    inspect = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{registry}/{repository}/app:1"],
        check=True, capture_output=True, timeout=120,
    )
    assert digest_of(inspect.stdout) == real["digest"]
