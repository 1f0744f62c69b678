"""Where images come from and go to: one protocol, one small class per kind.

Specs are spelled as in skopeo. ``parse_source(spec)`` gives an ``ImageSource`` (a base
image: ``docker://REF`` or a bare reference, ``docker-daemon:``, ``oci:``,
``oci-archive:``, ``docker-archive:``) whose ``open(platform, context)`` yields a
``layerplan.image.Image``; ``parse_output(spec)`` gives an ``ImageSink`` (``docker://``,
``docker-daemon:``, ``oci:``, ``oci-archive:``, ``docker-archive:``) whose
``write(image, context)`` writes, pushes or loads it and returns an ``OutputResult``.
``kinds.KINDS`` is the table, ``kinds.OLD_SPELLINGS`` the deprecated prefixes.
The ``read_*``/``write_*`` functions are the kinds' file formats, usable on their own.


The names are loaded on first use (PEP 562): a push to a registry does not load the
archive, layout and daemon kinds.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from layerplan.transports.clients import ClientPool
    from layerplan.transports.daemon import DockerEngine, load_into_daemon, read_from_daemon
    from layerplan.transports.docker_archive import (
        DockerArchive,
        read_docker_archive,
        stream_docker_archive,
        write_docker_archive,
    )
    from layerplan.transports.errors import DaemonError, OutputError
    from layerplan.transports.kinds import (
        KINDS, OLD_SPELLINGS, OUTPUT_KINDS, OUTPUT_USAGE, parse_output, parse_source, registry_reference,
    )
    from layerplan.transports.oci_archive import OciArchive, read_oci_archive, write_oci_archive
    from layerplan.transports.oci_layout import OciLayout, read_oci_layout, write_oci_layout
    from layerplan.transports.protocol import (
        BlobResult,
        ImageSink,
        ImageSource,
        OutputResult,
        TransportContext,
        TransportKind,
    )
    from layerplan.transports.remote import Registry, pull_image, remember_pulled
    from layerplan.transports.spellings import REGISTRY_PREFIX

_MODULES = {
    "ClientPool": "clients",
    "DockerEngine": "daemon",
    "load_into_daemon": "daemon",
    "read_from_daemon": "daemon",
    "DockerArchive": "docker_archive",
    "read_docker_archive": "docker_archive",
    "stream_docker_archive": "docker_archive",
    "write_docker_archive": "docker_archive",
    "DaemonError": "errors",
    "OutputError": "errors",
    "KINDS": "kinds",
    "OLD_SPELLINGS": "kinds",
    "OUTPUT_KINDS": "kinds",
    "OUTPUT_USAGE": "kinds",
    "parse_output": "kinds",
    "parse_source": "kinds",
    "registry_reference": "kinds",
    "OciArchive": "oci_archive",
    "read_oci_archive": "oci_archive",
    "write_oci_archive": "oci_archive",
    "OciLayout": "oci_layout",
    "read_oci_layout": "oci_layout",
    "write_oci_layout": "oci_layout",
    "BlobResult": "protocol",
    "ImageSink": "protocol",
    "ImageSource": "protocol",
    "OutputResult": "protocol",
    "TransportContext": "protocol",
    "TransportKind": "protocol",
    "REGISTRY_PREFIX": "spellings",
    "Registry": "remote",
    "pull_image": "remote",
    "remember_pulled": "remote",
}

__all__ = [
    "KINDS",
    "OLD_SPELLINGS",
    "OUTPUT_KINDS",
    "OUTPUT_USAGE",
    "REGISTRY_PREFIX",
    "BlobResult",
    "ClientPool",
    "DaemonError",
    "DockerArchive",
    "DockerEngine",
    "ImageSink",
    "ImageSource",
    "OciArchive",
    "OciLayout",
    "OutputError",
    "OutputResult",
    "Registry",
    "TransportContext",
    "TransportKind",
    "load_into_daemon",
    "registry_reference",
    "parse_output",
    "parse_source",
    "pull_image",
    "read_docker_archive",
    "read_from_daemon",
    "read_oci_archive",
    "read_oci_layout",
    "remember_pulled",
    "stream_docker_archive",
    "write_docker_archive",
    "write_oci_archive",
    "write_oci_layout",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
