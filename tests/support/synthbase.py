"""A synthetic Debian-like Python base image, made in milliseconds without debootstrap.

It holds exactly what layerplan's base detection reads (``layerplan.image.platform``) and
what a Debian 12 image has at those paths, so a direct build on it plans, installs and
compiles for the same target as on the real ``python:3.11-bookworm`` test base
(CPython 3.11.2, glibc 2.36, linux/amd64):

* ``/bin``, ``/lib``, ``/lib64``, ``/sbin`` -> ``usr/...`` (Debian's merged /usr);
* ``/usr/bin/python3`` -> ``python3.11`` on ``PATH``, a regular file (a stand-in: the image
  is never run), and the stdlib marker ``/usr/lib/python3.11/os.py``;
* ``/usr/lib/x86_64-linux-gnu/libc.so.6`` carrying glibc's version banner;
* ``/var/lib/dpkg/status`` with ``python3.11-minimal`` (the patch version) and ``libc6``.

The image cannot start a container; tests that run the image use the real base.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from ocifiles import FileSpec, ImageFiles, make_image, make_layer, write_docker_archive, write_oci_archive, write_oci_layout

__all__ = ["PATH", "SyntheticBase", "synthetic_base", "synthetic_base_image", "write_synthetic_base"]

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
GLIBC_BANNER = b"GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\n"

_DPKG_STATUS = """\
Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u4

Package: python3.11-minimal
Status: install ok installed
Architecture: amd64
Source: python3.11
Version: 3.11.2-6+deb12u1

"""


_MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}


def _rootfs(python_minor: str, architecture: str = "amd64") -> list[FileSpec]:
    """Entries of the one base layer, sorted as tar --sort=name writes them."""
    python = f"python{python_minor}"
    triplet = f"{_MACHINES[architecture]}-linux-gnu"
    specs = [
        FileSpec("bin", "symlink", target="usr/bin"),
        FileSpec("etc", "dir"),
        FileSpec("etc/debian_version", data=b"12.7\n"),
        FileSpec("etc/os-release", data=b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'),
        FileSpec("lib", "symlink", target="usr/lib"),
        FileSpec("lib64", "symlink", target="usr/lib64"),
        FileSpec("sbin", "symlink", target="usr/sbin"),
        FileSpec("tmp", "dir", mode=0o1777),
        FileSpec("usr", "dir"),
        FileSpec("usr/bin", "dir"),
        FileSpec("usr/bin/python3", "symlink", target=python),
        FileSpec(f"usr/bin/{python}", data=b"#!/bin/false\n# synthetic base: not a real interpreter\n", mode=0o755),
        FileSpec("usr/lib", "dir"),
        FileSpec(f"usr/lib/{python}", "dir"),
        FileSpec(f"usr/lib/{python}/os.py", data=b"# synthetic stdlib marker\n"),
        FileSpec(f"usr/lib/{triplet}", "dir"),
        FileSpec(f"usr/lib/{triplet}/libc.so.6", data=b"\x7fELF\x02\x01\x01\x00" + b"\0" * 56 + GLIBC_BANNER, mode=0o755),
        FileSpec("usr/lib64", "dir"),
        FileSpec("usr/local", "dir"),
        FileSpec("usr/local/bin", "dir"),
        FileSpec("usr/sbin", "dir"),
        FileSpec("var", "dir"),
        FileSpec("var/lib", "dir"),
        FileSpec("var/lib/dpkg", "dir"),
        FileSpec(
            "var/lib/dpkg/status",
            data=_DPKG_STATUS.replace("3.11", python_minor).replace("amd64", architecture).encode(),
        ),
    ]
    return specs


def synthetic_base_image(*, python_minor: str = "3.11", docker_types: bool = False, architecture: str = "amd64") -> ImageFiles:
    """The base image: one layer, a config like ``docker import``'s (PATH, ``CMD ["python3"]``);
    ``architecture="arm64"`` gives the arm64 one (aarch64 library directory, variant v8)."""
    layer = make_layer(_rootfs(python_minor, architecture))
    config = {
        "architecture": architecture,
        **({"variant": "v8"} if architecture == "arm64" else {}),
        "os": "linux",
        "created": "2026-11-01T00:00:00Z",
        "config": {"Env": [f"PATH={PATH}"], "Cmd": ["python3"]},
    }
    return make_image([layer], config, docker_types=docker_types, history=["synthetic Debian 12 rootfs"])


@dataclass(frozen=True)
class SyntheticBase:
    """The synthetic base in every local form ``--base`` accepts."""

    image: ImageFiles
    layout: Path
    archive: Path
    docker_archive: Path

    @property
    def specs(self) -> dict[str, str]:
        """``--base`` values naming it: OCI layout, OCI archive, docker-archive."""
        return {
            "oci": f"oci:{self.layout}",
            "oci-archive": f"oci-archive:{self.archive}",
            "docker-archive": f"docker-archive:{self.docker_archive}",
        }


def write_synthetic_base(directory: Path, *, python_minor: str = "3.11") -> SyntheticBase:
    """Write the base as an OCI layout, an OCI archive and a docker-archive under ``directory``."""
    image = synthetic_base_image(python_minor=python_minor)
    directory.mkdir(parents=True, exist_ok=True)
    return SyntheticBase(
        image=image,
        layout=write_oci_layout(image, directory / "layout"),
        archive=write_oci_archive(image, directory / "base-oci.tar"),
        docker_archive=write_docker_archive(image, directory / "base-docker.tar", tag="synthetic/python:3.11-bookworm"),
    )


@pytest.fixture(scope="session")
def synthetic_base(tmp_path_factory: pytest.TempPathFactory) -> SyntheticBase:
    """The synthetic base, written once per session."""
    return write_synthetic_base(tmp_path_factory.mktemp("synthetic-base"))
