"""Fixtures for the Dockerfile emitter's tests: the engine, and a base that can reach the index."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from collections.abc import Iterator

import pytest
from engine import base_image, docker_client, registry, unavailable  # noqa: F401
from memregistry import MemRegistry
from synthbase import synthetic_base_image

HOST_CA_BUNDLE = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture(scope="session")
def index_base(
    base_image: str,  # noqa: F811
    registry: str,  # noqa: F811
    docker_client: object,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """The test base image, trusting the certificate authorities this host trusts.

    pip in the image downloads from the package index over HTTPS. On a machine whose
    HTTPS goes through an inspecting proxy, only the host's CA bundle knows the proxy's
    CA, so the base gets that bundle (a user behind such a proxy builds on a base that
    trusts it, the same way). Pushed to the test registry, so buildah can pull it too.
    """
    if shutil.which("docker") is None:
        unavailable("the docker CLI is not installed")
    if not HOST_CA_BUNDLE.is_file():
        return base_image
    context = tmp_path_factory.mktemp("ca-base")
    shutil.copyfile(HOST_CA_BUNDLE, context / "ca-certificates.crt")
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\nCOPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n", encoding="utf-8"
    )
    reference = f"{registry}/layerplan-test/python-ca:3.11-bookworm"
    for command in (["docker", "build", "--network", "none", "-q", "-t", reference, str(context)], ["docker", "push", reference]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(command[:2])} failed: {done.stderr[-2000:]}")
    return reference


@pytest.fixture(scope="session")
def base_registry() -> Iterator[MemRegistry]:
    """An in-memory registry holding the synthetic base as ``python:3.11-bookworm``."""
    with MemRegistry() as memory:
        image = synthetic_base_image()
        memory.seed("python", "3.11-bookworm", image.manifest_bytes, image.blobs())
        yield memory


@pytest.fixture(scope="session")
def base(base_registry: MemRegistry) -> str:
    """The base the contexts are written for. It is read like every base (its Python,
    libc, interpreter path) but never pulled: the synthetic Debian 12 + Python 3.11 base
    (tests/support/synthbase.py) in an in-memory registry does, with no engine. Tests that
    build the context use the real one (``base_image``, ``index_base``)."""
    return f"{base_registry.address}/python:3.11-bookworm"


def _built_app_wheel(tmp: Path, project: Path, base: str, *args: str) -> Path:
    """The project's wheel as `layerplan dockerfile` builds it (a real PEP 517 build), kept aside."""
    from tests.dockerfile.helpers import run_cli

    out = tmp / "context"
    result = run_cli("dockerfile", str(project), "--base", base, "-o", str(out), *args)
    assert result.code == 0, result.err
    (wheel,) = (out / "dist").glob("*.whl")
    kept = tmp / wheel.name
    shutil.copyfile(wheel, kept)
    return kept


@pytest.fixture(scope="session")
def example_app_wheel(tmp_path_factory: pytest.TempPathFactory, base: str) -> Path:
    """example-project's own wheel, built once per session: for tests about the context's
    text and layout, not about building the wheel (run_cli(..., app_wheel=...))."""
    from tests.dockerfile.helpers import copy_example

    tmp = tmp_path_factory.mktemp("example-app-wheel")
    return _built_app_wheel(tmp, copy_example(tmp / "example"), base)


@pytest.fixture(scope="session")
def basic_app_wheel(tmp_path_factory: pytest.TempPathFactory, base: str) -> Path:
    """The `basic` lock fixture's own wheel, built once per session."""
    from tests.dockerfile.helpers import BASIC

    return _built_app_wheel(tmp_path_factory.mktemp("basic-app-wheel"), BASIC, base, "--lock", str(BASIC / "uv.lock"), "--python", "3.11")
