"""Base images from local sources, named like skopeo's transports:

``oci-layout:DIR[:REF]`` (alias ``oci:``), ``oci-archive:FILE[:REF]``,
``docker-archive:FILE[:NAME:TAG]``, and the Docker engine's ``docker-daemon:NAME``.
``docker://NAME`` also means the engine here (as layerplan's configuration says), not a
registry as in skopeo; registry references without a transport are the registry
client's business.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from layerplan.errors import ConfigError
from layerplan.image.index import Platform
from layerplan.image.model import Image
from layerplan.transports.daemon import read_from_daemon
from layerplan.transports.docker_archive import read_docker_archive
from layerplan.transports.oci_archive import read_oci_archive
from layerplan.transports.oci_layout import read_oci_layout

if TYPE_CHECKING:
    import docker  # type: ignore[import-untyped]

__all__ = ["LOCAL_TRANSPORTS", "is_local_source", "open_base", "split_path_ref"]

LOCAL_TRANSPORTS = ("oci-layout:", "oci:", "oci-archive:", "docker-archive:", "docker-daemon:", "docker://")


def is_local_source(spec: str) -> bool:
    """True when ``spec`` names a base image in a file, a layout or the engine."""
    return spec.startswith(LOCAL_TRANSPORTS)


def split_path_ref(rest: str) -> tuple[Path, str | None]:
    """``/a/b:ref`` -> (``/a/b``, ``ref``): the shortest prefix that exists is the path."""
    if Path(rest).exists():
        return Path(rest), None
    for index, char in enumerate(rest):
        if char == ":" and index and Path(rest[:index]).exists():
            return Path(rest[:index]), rest[index + 1 :] or None
    raise ConfigError(
        f"base image source {rest!r} does not exist",
        key="base",
        hint="give an existing path: oci-layout:DIR, oci-archive:FILE or docker-archive:FILE",
    )


@contextlib.contextmanager
def open_base(
    spec: str, *, platform: Platform | None = None, docker_client: docker.DockerClient | None = None
) -> Iterator[Image]:
    """Yield the base image ``spec`` names, resolved to ``platform`` when it is an index.

    Layers open lazily while the block runs. Raise ``ConfigError`` for an unknown
    transport or a missing path, ``BaseImageError`` when the source has no usable image.
    """
    transport, _, rest = spec.partition(":")
    if spec.startswith("docker://"):
        transport, rest = "docker-daemon", spec[len("docker://") :]
    if transport == "docker-daemon":
        with read_from_daemon(rest, platform=platform, client=docker_client) as image:
            yield image
        return
    if transport in ("oci-layout", "oci"):
        path, ref = split_path_ref(rest)
        yield read_oci_layout(path, ref_name=ref, platform=platform)
    elif transport == "oci-archive":
        path, ref = split_path_ref(rest)
        yield read_oci_archive(path, ref_name=ref, platform=platform)
    elif transport == "docker-archive":
        path, ref = split_path_ref(rest)
        yield read_docker_archive(path, tag=ref, platform=platform)
    else:
        raise ConfigError(
            f"unknown base image transport in {spec!r}",
            key="base",
            hint="use oci-layout:DIR, oci-archive:FILE, docker-archive:FILE or docker-daemon:NAME",
        )
