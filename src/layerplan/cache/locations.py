"""Where blobs are: which repositories of which registries hold a blob, so a push can mount it.

A registry tells a client only whether *one* repository has a blob, never where else it
is; yet a push into ``registry/service-b`` of a dependency layer ``registry/service-a``
already holds need not upload it: a cross-repository mount links it, no bytes moved. So
the store remembers what each push found (a blob pushed, mounted or already there) and
what each pull read, one record per blob digest (``locations/<hex>.json``)::

    {"format": 1, "registries": [["127.0.0.1:5000", ["service-b", "service-a"]]]}

Registries and, within one, repositories are most recently seen first, and both lists
are bounded (:data:`MAX_REGISTRIES`, :data:`MAX_REPOSITORIES`), so a record stays a few
hundred bytes however many services share the blob. A record is a hint: a repository
deleted since is a mount the registry declines, after which the push uploads and
:meth:`BlobLocations.forget` drops it. Records are whole files (``atomic_write``); two
builds recording the same blob in the same instant may lose one's update (the last
writer wins), which costs a later upload, never a wrong image; they are not fsynced
(a record emptied by a power cut reads as none).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from layerplan.cache.layout import LOCATIONS
from layerplan.cache.records import Records
from layerplan.oci.digest import Digest

__all__ = ["MAX_REGISTRIES", "MAX_REPOSITORIES", "BlobLocations"]

MAX_REPOSITORIES = 4
"""Repositories kept per registry and blob: enough mount sources to find a live one."""
MAX_REGISTRIES = 4
"""Registries kept per blob."""

_FORMAT = 1
# What a registry host and a repository name can be; anything else in a record (edited,
# from a future layerplan) is skipped rather than sent to a registry.
_REGISTRY = re.compile(r"[A-Za-z0-9.\-]+(?::[0-9]+)?|\[[0-9A-Fa-f:.]+\](?::[0-9]+)?")
_REPOSITORY = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")

Held = list[tuple[str, list[str]]]
"""A record: (registry, repositories) pairs, most recent first."""


class BlobLocations:
    """The ``locations`` area of the cache at ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self._records = Records(root, LOCATIONS)

    def repositories(self, registry: str, digest: Digest) -> tuple[str, ...]:
        """The repositories of ``registry`` known to hold ``digest``, most recently seen first
        (empty when none is known, or for a digest the store does not key: not sha256)."""
        for host, repositories in self._read(digest):
            if host == registry:
                return tuple(repositories)
        return ()

    def remember(self, registry: str, repository: str, digests: Iterable[Digest]) -> None:
        """``registry/repository`` holds each of ``digests`` (it was just seen there)."""

        def seen(held: Held) -> Held:
            known = next((repos for host, repos in held if host == registry), [])
            repositories = [repository, *(r for r in known if r != repository)][:MAX_REPOSITORIES]
            return [(registry, repositories), *((h, r) for h, r in held if h != registry)][:MAX_REGISTRIES]

        for digest in dict.fromkeys(digests):
            self._update(digest, seen)

    def forget(self, registry: str, repository: str, digests: Iterable[Digest]) -> None:
        """``registry/repository`` turned out not to hold ``digests`` (a mount was declined)."""

        def gone(held: Held) -> Held:
            kept = [(h, [r for r in repos if h != registry or r != repository]) for h, repos in held]
            return [(h, repos) for h, repos in kept if repos]

        for digest in dict.fromkeys(digests):
            self._update(digest, gone)

    def _update(self, digest: Digest, change: Callable[[Held], Held]) -> None:
        if digest.algorithm != "sha256":
            return  # the store keys sha256 only; such a blob is simply never a mount candidate
        before = self._read(digest)
        after = change(before)
        if after == before:
            return  # the common case on a rebuild: nothing to write
        data = json.dumps({"format": _FORMAT, "registries": after}, separators=(",", ":")).encode()
        # A hint only: a cache that cannot be written costs a later upload, never this push;
        # nor is it flushed to disk (a record lost in a power cut is one upload more).
        with contextlib.suppress(OSError):
            self._records.put(digest.hex, data, durable=False)

    def _read(self, digest: Digest) -> Held:
        """The record of ``digest``, without what cannot be a registry or a repository;
        empty when there is none or it is unreadable (it is then written anew)."""
        if digest.algorithm != "sha256":
            return []
        data = self._records.get(digest.hex)
        if data is None:
            return []
        try:
            document = json.loads(data)
            entries = document["registries"] if document.get("format") == _FORMAT else []
            held: Held = []
            for host, repositories in entries:
                names = [r for r in repositories if isinstance(r, str) and _REPOSITORY.fullmatch(r)]
                if isinstance(host, str) and _REGISTRY.fullmatch(host) and names:
                    held.append((host, list(dict.fromkeys(names))[:MAX_REPOSITORIES]))
        except (ValueError, TypeError, KeyError, AttributeError):
            return []
        return held[:MAX_REGISTRIES]
