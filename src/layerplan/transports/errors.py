"""Errors of the output stage."""

from __future__ import annotations

from layerplan.errors import LayerplanError

__all__ = ["DaemonError", "OutputError"]


class OutputError(LayerplanError):
    """An image cannot be written where it was asked to go."""


class DaemonError(OutputError):
    """The Docker engine is unreachable or refused an image."""
