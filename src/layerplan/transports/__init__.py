"""Where images come from and go to: one protocol, one small class per kind.

Specs are spelled as in skopeo. ``parse_source(spec)`` gives an ``ImageSource`` (a base
image: ``docker://REF`` or a bare reference, ``docker-daemon:``, ``oci:``,
``oci-archive:``, ``docker-archive:``) whose ``open(platform, context)`` yields a
``layerplan.image.Image``; ``parse_output(spec)`` gives an ``ImageSink`` (``docker://``,
``docker-daemon:``, ``oci:``, ``oci-archive:``, ``docker-archive:``) whose
``write(image, context)`` writes, pushes or loads it and returns an ``OutputResult``.
``kinds.KINDS`` is the table, ``kinds.OLD_SPELLINGS`` the deprecated prefixes.
The ``read_*``/``write_*`` functions are the kinds' file formats, usable on their own.
"""

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
)  # fmt: skip
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
from layerplan.transports.remote import REGISTRY_PREFIX, Registry, pull_image, remember_pulled

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
