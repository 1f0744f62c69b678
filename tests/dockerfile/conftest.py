"""Fixtures for the Dockerfile emitter's tests: the engine, and a base that can reach the index."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from engine import base_image, docker_client, registry, unavailable  # noqa: F401

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
def base(base_image: str) -> str:  # noqa: F811
    """The base the contexts are written for: read like every base (its Python, libc,
    interpreter path), so it must be reachable -- the test registry's."""
    return base_image
