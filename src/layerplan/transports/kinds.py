"""The table of transports, and the two parsers that read specs with it.

Specs are spelled as skopeo (containers-image) spells them, so a spec means the same in
both tools: ``docker://REF`` is a registry, ``docker-daemon:REF`` the local engine,
``oci:DIR[:REF]`` a layout, ``oci-archive:FILE`` and ``docker-archive:FILE`` tar files.
A base image may also be a bare reference, which names a registry. Each class says how
it is spelled (``source_prefixes``, ``sink_prefix``, ``usage``); adding a kind is one
module and one line in ``_TABLE`` (``KINDS`` gives the classes).

Old spellings whose meaning did not change (``oci-layout:``, ``registry:``, ``docker:``)
still work: each is rewritten to the new one here, with one warning per spec and run.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import Any

from layerplan.errors import ConfigError
from layerplan.oci.reference import ImageReference
from layerplan.transports.protocol import ImageSink, ImageSource, TransportKind
from layerplan.transports.remote import Registry
from layerplan.transports.spellings import SPELLINGS

__all__ = ["KINDS", "OLD_SPELLINGS", "OUTPUT_KINDS", "OUTPUT_USAGE", "parse_output", "parse_source", "registry_reference"]

# Every transport, in the order hints list them: (module, class, its source prefixes,
# sink prefix and usage), the spellings from ``spellings.SPELLINGS`` (the classes take
# theirs from there too), so a spec finds its kind without importing every kind: a push
# to a registry does not load the tar and daemon code.
_MODULES: tuple[tuple[str, str, str], ...] = (
    ("oci_layout", "OciLayout", "oci"),
    ("oci_archive", "OciArchive", "oci-archive"),
    ("docker_archive", "DockerArchive", "docker-archive"),
    ("remote", "Registry", "registry"),
    ("daemon", "DockerEngine", "docker"),
)
_TABLE: tuple[tuple[str, str, tuple[str, ...], str | None, str], ...] = tuple(
    (module, cls, *SPELLINGS[kind]) for module, cls, kind in _MODULES
)


def _kind(module: str, name: str) -> TransportKind:
    kind: TransportKind = getattr(importlib.import_module(f"layerplan.transports.{module}"), name)
    return kind


def __getattr__(name: str) -> Any:
    if name == "KINDS":  # every class: loads every kind
        return tuple(_kind(module, cls) for module, cls, *_ in _TABLE)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_SOURCES: Mapping[str, tuple[str, str]] = {prefix: (module, cls) for module, cls, sources, _, _ in _TABLE for prefix in sources}
_SINKS: Mapping[str, tuple[str, str]] = {sink: (module, cls) for module, cls, _, sink, _ in _TABLE if sink}
_BARE_SOURCE: TransportKind = Registry
"""What a spec without a source prefix names: an image reference (``python:3.12-slim``)."""

_OLD_SOURCES: Mapping[str, str] = {"oci-layout:": "oci:"}
_OLD_SINKS: Mapping[str, str] = {"registry:": "docker://", "docker:": "docker-daemon:"}
OLD_SPELLINGS: Mapping[str, str] = {**_OLD_SOURCES, **_OLD_SINKS}
"""Deprecated prefix -> its skopeo spelling (``oci-layout:`` for bases, the others for
outputs). ``docker://`` is not here: as a base it meant the engine and now, as in
skopeo, means a registry."""

OUTPUT_KINDS: tuple[str, ...] = tuple(_SINKS)
"""The output prefixes: ``oci:``, ``oci-archive:``, ``docker-archive:``, ``docker://``, ``docker-daemon:``."""
_USAGES = [usage for _, _, _, sink, usage in _TABLE if sink]
OUTPUT_USAGE = f"{', '.join(_USAGES[:-1])} or {_USAGES[-1]}"
"""``oci:DIR, oci-archive:FILE, ..., or docker-daemon:REF``: what ``--output`` accepts, for hints."""

_warned: set[str] = set()
_warned_lock = threading.Lock()


def parse_source(text: str) -> ImageSource:
    """The base image source ``text`` names: a transport by its prefix, else a registry.

    An old spelling (``oci-layout:DIR``) is read as the new one, with a warning.
    Raise ``ConfigError`` (key ``base``) for a missing local path or an invalid reference.
    """
    text = _current_spelling(text, _SOURCES, _OLD_SOURCES)
    for prefix, where in _SOURCES.items():
        if text.startswith(prefix):
            return _kind(*where).parse_source(text, text[len(prefix) :])
    return _BARE_SOURCE.parse_source(text, text)


def parse_output(text: str) -> ImageSink:
    """The output ``text`` names (``PREFIX`` + target: ``oci:DIR``, ``docker://REF``...).

    An old spelling (``registry:REF``, ``docker:REF``) is read as the new one, with a
    warning. Raise ``ConfigError`` (key ``--output``) naming the allowed forms for an
    unknown kind or empty target, and the kind's own error for a target it cannot take
    (a file where a directory goes, a registry digest) -- checked now, so a bad output
    costs no build.
    """
    text = _current_spelling(text, _SINKS, _OLD_SINKS)
    for prefix, where in _SINKS.items():
        if text.startswith(prefix) and text[len(prefix) :]:
            return _kind(*where).parse_sink(text, text[len(prefix) :])
    raise ConfigError(f"invalid output {text!r}", key="--output", hint=f"use {OUTPUT_USAGE}")


def registry_reference(text: str) -> ImageReference:
    """The image reference a registry spec names: ``docker://REF``, the old ``registry:REF``
    or a bare ``REF`` (a base, a cache image, a name in a report); ``ValueError`` when
    it is not one. Other transports' specs are not references: ask ``parse_source``."""
    registry_prefixes = (*Registry.source_prefixes, *(old for old, new in _OLD_SINKS.items() if new in Registry.source_prefixes))
    for prefix in registry_prefixes:
        if text.startswith(prefix):
            return ImageReference.parse(text[len(prefix) :])
    return ImageReference.parse(text)


def _current_spelling(text: str, current: Mapping[str, object], old: Mapping[str, str]) -> str:
    """``text`` with an old prefix replaced by its new one (warned about once per ``text``
    and run: a spec parsed by a front end and again by the build says it once)."""
    if any(text.startswith(prefix) for prefix in current):
        return text  # `docker://` is current; the old `docker:` must not take it
    for prefix, new in old.items():
        if text.startswith(prefix) and text[len(prefix) :]:
            rewritten = new + text[len(prefix) :]
            with _warned_lock:
                first = text not in _warned
                _warned.add(text)
            if first:
                from layerplan.console import warn

                warn(f"{text!r} uses the old spelling {prefix!r}; write {rewritten!r} (as skopeo spells it)")
            return rewritten
    return text
