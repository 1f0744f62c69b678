"""Errors of the image stage: building layers, reading base images, detecting the target."""

from __future__ import annotations

from layerplan.errors import LayerplanError, TargetError

__all__ = [
    "BaseImageError",
    "ImageError",
    "NoPythonError",
    "SymlinkConflictError",
    "UnsafePathError",
    "UnsupportedEntryError",
]


class ImageError(LayerplanError):
    """An image or layer cannot be built as asked."""


class UnsafePathError(ImageError):
    """A layer entry would land outside the image root (absolute path or ``..``)."""


class SymlinkConflictError(ImageError):
    """A layer would write a path that the base image has as a symbolic link."""


class UnsupportedEntryError(ImageError):
    """A staging tree holds something a layer cannot carry (device, socket, fifo)."""


class BaseImageError(ImageError):
    """A base image cannot be read: bad archive, missing blob, no matching platform."""


class NoPythonError(TargetError):
    """The base image has no Python interpreter layerplan can find."""
