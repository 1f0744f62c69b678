"""Where images go, and the local places base images come from. One module per sink or
source, all taking (or giving) the same ``layerplan.image.Image``."""

from layerplan.transports.daemon import load_into_daemon, read_from_daemon
from layerplan.transports.docker_archive import (
    read_docker_archive,
    stream_docker_archive,
    write_docker_archive,
)
from layerplan.transports.errors import DaemonError, OutputError
from layerplan.transports.oci_archive import read_oci_archive, write_oci_archive
from layerplan.transports.oci_layout import read_oci_layout, write_oci_layout
from layerplan.transports.sources import is_local_source, open_base

__all__ = [
    "DaemonError",
    "OutputError",
    "is_local_source",
    "load_into_daemon",
    "open_base",
    "read_docker_archive",
    "read_from_daemon",
    "read_oci_archive",
    "read_oci_layout",
    "stream_docker_archive",
    "write_docker_archive",
    "write_oci_archive",
    "write_oci_layout",
]
