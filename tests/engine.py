"""The real Docker engine and registries, for the tests that need them.

``scripts/test-engine.sh start`` starts them; this module finds them from the
environment (``LAYERPLAN_TEST_REGISTRY``, ``LAYERPLAN_TEST_AUTH_REGISTRY``,
``LAYERPLAN_TEST_BASE``, ``DOCKER_HOST``; the script's addresses by default). When they
are not running and this machine allows it (root on Debian, the script present,
``LAYERPLAN_TEST_ENGINE_AUTOSTART`` not ``0``), the script is run once to start them.

Where they cannot be had, a test that asks for them is skipped with a reason saying
how to enable it -- except when ``CI=true`` or ``LAYERPLAN_REQUIRE_ENGINE=1``: then it
fails, so CI can never pass by skipping them.

Use the fixtures (``registry``, ``auth_registry``, ``base_image``, ``docker_client``) by
importing them into a conftest.py, or the ``get_*`` functions directly.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
import requests

if TYPE_CHECKING:
    import docker

__all__ = [
    "AUTH_PASSWORD",
    "AUTH_USER",
    "auth_registry",
    "base_image",
    "builder_image",
    "docker_client",
    "engine_required",
    "multi_base_image",
    "get_auth_registry",
    "get_base_image",
    "get_builder_image",
    "get_docker_client",
    "get_multi_base_image",
    "get_registry",
    "registry",
    "unavailable",
]

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "test-engine.sh"
AUTH_USER = "layerplan"
AUTH_PASSWORD = "layerplan-secret"
_DEFAULTS = {
    "LAYERPLAN_TEST_REGISTRY": "127.0.0.1:5000",
    "LAYERPLAN_TEST_AUTH_REGISTRY": "127.0.0.1:5001",
    "LAYERPLAN_TEST_BASE": "127.0.0.1:5000/python:3.11-bookworm",
    "LAYERPLAN_TEST_BUILDER": "127.0.0.1:5000/python:3.11-bookworm-build",
    "LAYERPLAN_TEST_MULTI_BASE": "127.0.0.1:5000/python:3.11-bookworm-multi",
    "DOCKER_HOST": "unix:///var/run/docker.sock",
}
_HOW_TO = 'run `scripts/test-engine.sh start` as root on Debian 12, then `eval "$(scripts/test-engine.sh env)"`'
_START_TIMEOUT = 20 * 60


def engine_required() -> bool:
    """True where the engine tests must run, not be skipped (CI, or asked for)."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("LAYERPLAN_REQUIRE_ENGINE") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip the calling test, saying how to enable it -- or fail it where required."""
    if engine_required():
        pytest.fail(f"{reason} (engine tests are required: CI=true or LAYERPLAN_REQUIRE_ENGINE=1; {_HOW_TO})", pytrace=False)
    pytest.skip(f"{reason}; to enable: {_HOW_TO}")


def _setting(name: str) -> str:
    return os.environ.get(name) or _DEFAULTS[name]


def _can_autostart() -> str | None:
    """Why the script cannot be run here, or None when it can."""
    if os.environ.get("LAYERPLAN_TEST_ENGINE_AUTOSTART") == "0":
        return "LAYERPLAN_TEST_ENGINE_AUTOSTART=0"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "not root"
    if not Path("/etc/debian_version").exists() or shutil.which("apt-get") is None:
        return "not Debian"
    if not SCRIPT.exists():
        return f"{SCRIPT} is missing"
    return None


def _start_engine() -> str | None:
    """Start the engine through the script where allowed; an error text, or None."""
    why_not = _can_autostart()
    if why_not:
        return f"cannot start it here ({why_not})"
    return _run_start_script()


@functools.cache
def _run_start_script(*flags: str) -> str | None:
    """Run ``test-engine.sh start`` (with ``flags``) once per test session; an error text, or None."""
    try:
        result = subprocess.run(
            ["bash", str(SCRIPT), "start", *flags],
            capture_output=True,
            text=True,
            timeout=_START_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{SCRIPT.name} start failed: {error}"
    if result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        return f"{SCRIPT.name} start exited {result.returncode}: {tail}"
    return None


def _v2_status(address: str) -> int | None:
    try:
        return requests.get(f"http://{address}/v2/", timeout=3).status_code
    except requests.RequestException:
        return None


def _ensure(check: Any, what: str) -> None:
    """``check()`` is true, starting the engine once if needed; else skip/fail the test."""
    if check():
        return
    error = _start_engine()
    if error is None and check():
        return
    unavailable(f"{what} is not available" + (f": {error}" if error else ""))


def get_registry() -> str:
    """``host:port`` of the plain-HTTP registry without auth."""
    address = _setting("LAYERPLAN_TEST_REGISTRY")
    _ensure(lambda: _v2_status(address) == 200, f"registry {address}")
    return address


def get_auth_registry() -> str:
    """``host:port`` of the registry that wants basic auth (``AUTH_USER``/``AUTH_PASSWORD``)."""
    address = _setting("LAYERPLAN_TEST_AUTH_REGISTRY")
    _ensure(lambda: _v2_status(address) == 401, f"auth registry {address}")
    return address


def get_base_image() -> str:
    """The base image's reference (Debian 12 + Python 3.11, linux/amd64), present in the registry."""
    return _image_in_registry("LAYERPLAN_TEST_BASE", "base image")


def get_builder_image() -> str:
    """The builder image's reference: the base plus gcc and Python's headers."""
    return _image_in_registry("LAYERPLAN_TEST_BUILDER", "builder image")


def get_multi_base_image() -> str:
    """The two-platform base (an index of the amd64 base and an arm64 one), for the tests
    that run an arm64 image under qemu. Made by ``test-engine.sh start --with-arm64`` (an
    arm64 debootstrap, about 3 minutes once): opt-in with ``LAYERPLAN_TEST_ARM64=1``
    (CI sets it), else the tests that need it skip, saying so."""
    reference = _setting("LAYERPLAN_TEST_MULTI_BASE")
    registry_part, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")

    def present() -> bool:
        try:
            response = requests.head(
                f"http://{registry_part}/v2/{repository}/manifests/{tag}",
                headers={"Accept": "application/vnd.oci.image.index.v1+json"},
                timeout=3,
            )
        except requests.RequestException:
            return False
        return response.status_code == 200 and Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists()

    if present():
        return reference
    if os.environ.get("LAYERPLAN_TEST_ARM64") != "1":
        pytest.skip(
            f"the arm64 base {reference} (or qemu binfmt) is missing; to enable: LAYERPLAN_TEST_ARM64=1, or run"
            " `scripts/test-engine.sh start --with-arm64` as root (an arm64 debootstrap, about 3 minutes once)"
        )
    get_registry()  # the engine and registries first, as the other tests start them
    error = _can_autostart() or _run_start_script("--with-arm64")
    if error is None and present():
        return reference
    unavailable(f"arm64 base {reference} is not available" + (f": {error}" if error else ""))


def _image_in_registry(setting: str, what: str) -> str:
    reference = _setting(setting)
    registry_part, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")

    def present() -> bool:
        try:
            response = requests.head(
                f"http://{registry_part}/v2/{repository}/manifests/{tag}",
                headers={
                    "Accept": "application/vnd.docker.distribution.manifest.v2+json, "
                    "application/vnd.oci.image.manifest.v1+json"
                },
                timeout=3,
            )
        except requests.RequestException:
            return False
        return response.status_code == 200

    _ensure(present, f"{what} {reference}")
    return reference


def get_docker_client() -> docker.DockerClient:
    """A Docker SDK client for the daemon at ``DOCKER_HOST`` (the script's socket by default)."""
    try:
        import docker
    except ImportError:
        unavailable("the `docker` Python package is not installed")
    host = _setting("DOCKER_HOST")

    def ping() -> bool:
        try:
            return bool(docker.DockerClient(base_url=host, timeout=10).ping())
        except Exception:  # the SDK raises several unrelated types for "no daemon"
            return False

    _ensure(ping, f"Docker engine at {host}")
    return docker.DockerClient(base_url=host, timeout=120)


@pytest.fixture(scope="session")
def registry() -> str:
    """``host:port`` of the test registry (no auth, plain HTTP)."""
    return get_registry()


@pytest.fixture(scope="session")
def auth_registry() -> str:
    """``host:port`` of the basic-auth test registry."""
    return get_auth_registry()


@pytest.fixture(scope="session")
def base_image() -> str:
    """Reference of the base image in the test registry."""
    return get_base_image()


@pytest.fixture(scope="session")
def builder_image() -> str:
    """Reference of the builder image (the base with a compiler) in the test registry."""
    return get_builder_image()


@pytest.fixture(scope="session")
def multi_base_image() -> str:
    """Reference of the two-platform (amd64 + arm64) base index in the test registry."""
    return get_multi_base_image()


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    """Docker SDK client for the test engine."""
    return get_docker_client()
