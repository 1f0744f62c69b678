"""The image model every source and sink shares: manifest and config bytes plus lazy layers.

Like go-containerregistry's ``v1.Image``: a layer is described up front (descriptor and
diff_id) and its bytes are read only when a sink asks, through an *opener*. Base layers
open from a registry, an archive or a layout; layers layerplan builds open from the cache.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

from layerplan.image.errors import BaseImageError
from layerplan.image.index import Platform
from layerplan.oci.descriptor import Descriptor, MediaType
from layerplan.oci.digest import Digest
from layerplan.oci.reference import ImageReference

__all__ = ["Image", "Layer", "LayerBlob", "Opener", "bytes_opener"]

Opener = Callable[[], IO[bytes]]
"""Returns a new binary stream of a blob's bytes each time it is called; the caller closes it."""

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerBlob:
    """A compressed layer blob layerplan built (see ``image.tarlayer``)."""

    digest: Digest
    """sha256 of the compressed bytes: the manifest's layer digest."""
    diff_id: Digest
    """sha256 of the uncompressed tar: the config's ``rootfs.diff_ids`` entry."""
    size: int
    """Size of the compressed bytes."""
    media_type: str = MediaType.OCI_LAYER_GZIP

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(media_type=self.media_type, digest=self.digest, size=self.size)


@dataclass(frozen=True, kw_only=True, slots=True)
class Layer:
    """One layer of an image: how the manifest describes it, its diff_id, and its bytes."""

    descriptor: Descriptor
    diff_id: Digest
    opener: Opener
    origin: ImageReference | None = None
    """The registry repository the blob was pulled from, if any: a push to the same
    registry mounts it from there instead of uploading it (go-containerregistry's
    ``remote.MountableLayer``)."""

    @classmethod
    def from_blob(cls, blob: LayerBlob, opener: Opener) -> Layer:
        return cls(descriptor=blob.descriptor, diff_id=blob.diff_id, opener=opener)

    @property
    def digest(self) -> Digest:
        return self.descriptor.digest

    @property
    def compressed(self) -> bool:
        """False when the blob is a plain tar (its digest is then its diff_id)."""
        return self.descriptor.media_type.endswith(("gzip", "zstd")) or self.digest != self.diff_id

    def open(self) -> IO[bytes]:
        """The blob's bytes, as stored (usually gzip)."""
        return self.opener()

    @contextlib.contextmanager
    def open_tar(self) -> Iterator[IO[bytes]]:
        """The layer's uncompressed tar stream; gzip is detected by its magic bytes."""
        with self.opener() as raw:
            head = raw.read(4)
            stream = cast(IO[bytes], _Prefixed(head, raw))
            if head.startswith(_GZIP_MAGIC):
                with gzip.GzipFile(fileobj=stream, mode="rb") as unzipped:
                    yield unzipped  # type: ignore[misc]
                return
            if head.startswith(_ZSTD_MAGIC):
                raise BaseImageError(
                    f"layer {self.digest} is zstd-compressed, which layerplan cannot read",
                    hint="use a base image with gzip layers, or set the target python explicitly",
                )
            yield stream


class _Prefixed:
    """A read-only stream: ``head`` then the rest of ``raw`` (a peek without ``peek``)."""

    def __init__(self, head: bytes, raw: IO[bytes]) -> None:
        self._head = head
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._raw.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._raw.read(size - len(data))
            return data
        return self._raw.read(size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> _Prefixed:  # noqa: PYI034 - private, never subclassed
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, kw_only=True, slots=True)
class Image:
    """A single-platform image: the exact manifest and config bytes, and its layers in order.

    The manifest may be an OCI or a Docker v2 manifest (base images are kept as they
    came); images layerplan assembles are OCI. The digest of the image is the sha256 of
    ``manifest``.
    """

    manifest: bytes
    config: bytes
    layers: tuple[Layer, ...]
    origin: ImageReference | None = None
    """The registry repository this image was pulled from, if any: a push to the same
    registry mounts its config from there. An image assembled from it has a new config,
    and no origin; its base layers keep theirs."""

    def __post_init__(self) -> None:
        manifest = self.manifest_json
        if len(manifest.get("layers") or []) != len(self.layers):
            raise BaseImageError("the manifest lists a different number of layers than the image has")
        config_digest = Digest.of_bytes(self.config)
        if self.config_descriptor.digest != config_digest:
            raise BaseImageError(f"the manifest's config digest does not match the config ({config_digest})")
        diff_ids = (self.config_json.get("rootfs") or {}).get("diff_ids") or []
        if [str(d) for d in diff_ids] != [str(layer.diff_id) for layer in self.layers]:
            raise BaseImageError("the config's rootfs.diff_ids do not match the image's layers")

    @property
    def digest(self) -> Digest:
        """The manifest digest (what ``image@sha256:...`` refers to)."""
        return Digest.of_bytes(self.manifest)

    @property
    def manifest_json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.manifest)
        return value

    @property
    def config_json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.config)
        return value

    @property
    def media_type(self) -> str:
        return str(self.manifest_json.get("mediaType") or MediaType.OCI_MANIFEST)

    @property
    def config_descriptor(self) -> Descriptor:
        return Descriptor.from_json(self.manifest_json["config"])

    @property
    def platform(self) -> Platform:
        """``os/architecture[/variant]`` from the config."""
        return Platform.from_json(self.config_json)

    @classmethod
    def from_manifest(
        cls,
        manifest: bytes,
        config: bytes,
        opener_for: Callable[[Descriptor], Opener],
        *,
        source: str = "",
        origin: ImageReference | None = None,
    ) -> Image:
        """An image from exact manifest and config bytes; ``opener_for(descriptor)`` opens a layer.

        The diff_ids come from the config; ``origin`` is the image's and every layer's.
        Raise ``BaseImageError`` when the manifest and config disagree or are malformed.
        """
        try:
            manifest_json = json.loads(manifest)
            diff_ids = json.loads(config)["rootfs"]["diff_ids"]
            descriptors = [Descriptor.from_json(d) for d in manifest_json.get("layers") or []]
            if len(diff_ids) != len(descriptors):
                raise ValueError(f"{len(descriptors)} layers in the manifest, {len(diff_ids)} diff_ids in the config")
            layers = tuple(
                Layer(descriptor=d, diff_id=Digest.parse(str(diff_id)), opener=opener_for(d), origin=origin)
                for d, diff_id in zip(descriptors, diff_ids)
            )
            if "config" not in manifest_json:
                raise ValueError("the manifest names no config")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BaseImageError(f"malformed image manifest or config: {exc}", path=source or None) from exc
        return cls(manifest=manifest, config=config, layers=layers, origin=origin)

    def manifest_descriptor(self, annotations: dict[str, str] | None = None) -> Descriptor:
        """A descriptor of the manifest, as an index lists it (with the platform)."""
        return Descriptor(
            media_type=self.media_type,
            digest=self.digest,
            size=len(self.manifest),
            annotations=annotations or {},
            platform=self.platform.to_json(),
        )


def bytes_opener(data: bytes) -> Opener:
    """An opener over bytes in memory (configs, tests)."""
    return lambda: io.BytesIO(data)
