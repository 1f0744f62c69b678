"""What the local transports (layout, archives, the engine) share: the spec as written,
path specs, and write failures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from layerplan.cache.atomic import atomic_write
from layerplan.cache.temps import TempPlace, sibling_prefix
from layerplan.errors import ConfigError
from layerplan.image.image_index import ImageIndex
from layerplan.image.referrer import Artifact
from layerplan.oci.reference import ImageReference
from layerplan.transports.errors import OutputError

__all__ = [
    "LocalTransport", "refuse_directory", "refuse_file", "siblings_of", "split_path_ref", "write_beside",
    "write_beside_index", "writing",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalTransport:
    """A transport that is not a registry: no network to cache, no tag that can move on a
    server (the build reads what is there), named by its spec as the user wrote it."""

    remote: ClassVar[bool] = False
    reference: ClassVar[ImageReference | None] = None
    pinned: ClassVar[bool] = True

    spec: str
    target: str
    """The path (or the engine's image name), as written."""

    def __str__(self) -> str:
        return self.spec

    def temp_places(self) -> tuple[TempPlace, ...]:
        """None by default (the engine); a file or directory output names its own."""
        return ()


def siblings_of(target: str) -> TempPlace:
    """The temporaries ``atomic_write`` (or a layout's staging) makes beside the output
    ``target``: its own only, never another file's of the same directory."""
    path = Path(target).absolute()
    return TempPlace(directory=path.parent, prefix=sibling_prefix(path.name))


def write_beside(target: str, artifacts: Sequence[Artifact]) -> tuple[str, ...]:
    """Each artifact's document as ``<target>.<its title>`` (``dist/image.sbom.spdx.json``),
    written atomically; the paths, in order.

    Beside the layout, not in its ``index.json``: a second entry there would make
    ``skopeo copy oci:DIR`` (no ``:REF``) refuse the layout as holding several images.
    ``oras attach --oci-layout`` can add them as referrers when wanted (docs/sbom.md).
    """
    written = []
    for artifact in artifacts:
        path = Path(f"{Path(target).absolute()}.{artifact.title}")
        with atomic_write(path) as out:
            out.write(artifact.payload)
        written.append(str(path))
    return tuple(written)


def write_beside_index(target: str, index: ImageIndex, artifacts: Sequence[Artifact]) -> tuple[tuple[str, str], ...]:
    """:func:`write_beside` for an index: each platform's documents named after it
    (``dist/image.linux-arm64.sbom.spdx.json``), as the platforms' SBOMs share titles;
    (artifact type, path) of each, in order."""
    written: list[tuple[str, str]] = []
    for image in index.images:
        mine = [a for a in artifacts if a.subject == image.digest]
        paths = write_beside(f"{target}.{_platform_part(image.platform)}", mine)
        written += zip((a.artifact_type for a in mine), paths)
    return tuple(written)


def same_beside_index(target: str, index: ImageIndex, artifacts: Sequence[Artifact]) -> tuple[tuple[str, str], ...] | None:
    """What :func:`write_beside_index` would return, when each of those files already
    holds its artifact's document byte for byte; ``None`` when one is missing or differs."""
    found: list[tuple[str, str]] = []
    for image in index.images:
        mine = [a for a in artifacts if a.subject == image.digest]
        paths = same_beside(f"{target}.{_platform_part(image.platform)}", mine)
        if paths is None:
            return None
        found += zip((a.artifact_type for a in mine), paths)
    return tuple(found)


def _platform_part(platform: object) -> str:
    """``linux/arm64`` -> ``linux-arm64``: a platform's part of its documents' file names."""
    return str(platform).replace("/", "-")


def same_beside(target: str, artifacts: Sequence[Artifact]) -> tuple[str, ...] | None:
    """The paths :func:`write_beside` would write, when each already holds its artifact's
    document byte for byte; ``None`` when one is missing or differs."""
    paths = []
    for artifact in artifacts:
        path = Path(f"{Path(target).absolute()}.{artifact.title}")
        try:
            if path.stat().st_size != len(artifact.payload) or path.read_bytes() != artifact.payload:
                return None
        except OSError:
            return None
        paths.append(str(path))
    return tuple(paths)


def split_path_ref(rest: str) -> tuple[Path, str | None]:
    """``/a/b:ref`` -> (``/a/b``, ``ref``): the shortest prefix that exists is the path.

    Raise ``ConfigError`` when no prefix exists (a base image must be there to be read).
    """
    if Path(rest).exists():
        return Path(rest), None
    for index, char in enumerate(rest):
        if char == ":" and index and Path(rest[:index]).exists():
            return Path(rest[:index]), rest[index + 1 :] or None
    raise ConfigError(
        f"base image source {rest!r} does not exist",
        key="base",
        hint="give an existing path: oci:DIR, oci-archive:FILE or docker-archive:FILE",
    )


# Output paths are checked when the spec is parsed, so a wrong kind of path costs no build time.


def refuse_file(spec: str, target: str) -> None:
    """``ConfigError`` when ``target`` (of a directory output) exists and is not a directory."""
    local = Path(target)
    if local.exists() and not local.is_dir():
        raise ConfigError(
            f"{spec!r}: exists and is not a directory", key="--output", hint="oci:DIR writes an OCI layout directory"
        )


def refuse_directory(spec: str, target: str, kind: str) -> None:
    """``ConfigError`` when ``target`` (of a one-file output) is a directory."""
    if Path(target).is_dir():
        raise ConfigError(f"{spec!r}: is a directory", key="--output", hint=f"{kind}:FILE writes one tar file")


@contextlib.contextmanager
def writing(kind: str, target: str) -> Iterator[None]:
    """Turn a file system failure while writing the ``kind`` output ``target`` into one
    ``OutputError`` line (the writers themselves leave nothing half-written)."""
    try:
        yield
    except OSError as exc:
        raise OutputError(
            f"cannot write the {kind} output: {exc.strerror or exc}",
            path=target,
            hint="choose a writable path for --output",
        ) from exc
