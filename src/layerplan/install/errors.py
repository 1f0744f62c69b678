"""Errors raised while installing wheels into a staging tree or building local wheels."""

from __future__ import annotations

from layerplan.errors import LayerplanError

__all__ = ["BuildError", "ImpureWheelError", "InstallError", "UnsafeWheelError"]


class InstallError(LayerplanError):
    """A wheel cannot be installed into the staging tree (invalid wheel, conflict)."""


class UnsafeWheelError(InstallError):
    """A wheel entry would be written outside its install directory (``../``, an
    absolute path, a symlink leading out). Nothing of it should be trusted."""


class BuildError(LayerplanError):
    """A local project's wheel could not be built by its PEP 517 backend."""


class ImpureWheelError(BuildError):
    """A locally built wheel is platform-specific, so it cannot be built on this host
    for the image's platform."""
