"""The table of transports, and the two parsers that read specs with it.

A base image spec starts with a source prefix (``oci-layout:``, ``docker://``...) or is
a bare image reference, which names a registry. An output spec is ``KIND:TARGET``. Each
class says how it is spelled (``source_prefixes``, ``sink_prefix``, ``usage``); adding a
kind is one module and one line in ``KINDS``.
"""

from __future__ import annotations

from collections.abc import Mapping

from layerplan.errors import ConfigError
from layerplan.transports.daemon import DockerEngine
from layerplan.transports.docker_archive import DockerArchive
from layerplan.transports.oci_archive import OciArchive
from layerplan.transports.oci_layout import OciLayout
from layerplan.transports.protocol import ImageSink, ImageSource, TransportKind
from layerplan.transports.remote import Registry

__all__ = ["KINDS", "OUTPUT_KINDS", "OUTPUT_USAGE", "parse_output", "parse_source"]

KINDS: tuple[TransportKind, ...] = (OciLayout, OciArchive, DockerArchive, Registry, DockerEngine)
"""Every transport, in the order hints list them."""

_SOURCES: Mapping[str, TransportKind] = {prefix: kind for kind in KINDS for prefix in kind.source_prefixes}
_SINKS: Mapping[str, TransportKind] = {kind.sink_prefix: kind for kind in KINDS if kind.sink_prefix}
_BARE_SOURCE: TransportKind = Registry
"""What a spec without a source prefix names: an image reference (``python:3.12-slim``)."""

OUTPUT_KINDS: tuple[str, ...] = tuple(_SINKS)
"""``oci``, ``oci-archive``, ``docker-archive``, ``registry``, ``docker``."""
_USAGES = [kind.usage for kind in KINDS if kind.sink_prefix]
OUTPUT_USAGE = f"{', '.join(_USAGES[:-1])} or {_USAGES[-1]}"
"""``oci:DIR, oci-archive:FILE, ..., or docker:REF``: what ``--output`` accepts, for hints."""


def parse_source(text: str) -> ImageSource:
    """The base image source ``text`` names: a transport by its prefix, else a registry.

    Raise ``ConfigError`` (key ``base``) for a missing local path or an invalid reference.
    """
    for prefix, kind in _SOURCES.items():
        if text.startswith(prefix):
            return kind.parse_source(text, text[len(prefix) :])
    return _BARE_SOURCE.parse_source(text, text)


def parse_output(text: str) -> ImageSink:
    """The output ``text`` names (``KIND:TARGET``).

    Raise ``ConfigError`` (key ``--output``) naming the allowed forms for an unknown kind
    or empty target, and the kind's own error for a target it cannot take (a file where
    a directory goes, a registry digest) -- checked now, so a bad output costs no build.
    """
    name, sep, target = text.partition(":")
    kind = _SINKS.get(name)
    if not sep or kind is None or not target:
        raise ConfigError(f"invalid output {text!r}", key="--output", hint=f"use {OUTPUT_USAGE}")
    return kind.parse_sink(text, target)
