"""Hatchling's entry point into this plugin (the ``hatch`` entry-point group)."""

from __future__ import annotations

from hatchling.plugin import hookimpl

from hatch_layers.builder import ImageBuilder

__all__ = ["hatch_register_builder"]


@hookimpl
def hatch_register_builder() -> type[ImageBuilder]:
    """The ``image`` build target."""
    return ImageBuilder
