"""Errors of the Dockerfile emitter; the CLI prints them as one line and exits 2."""

from __future__ import annotations

from layerplan.errors import LayerplanError

__all__ = ["DockerfileError", "LocalBuildError", "OfflineError", "OutputDirError"]


class DockerfileError(LayerplanError):
    """The project cannot be turned into a build context as asked."""


class OutputDirError(DockerfileError):
    """The output directory cannot be written: not empty (without ``--force``), a file,
    or it would replace the project itself."""


class OfflineError(DockerfileError):
    """``--offline`` was asked for, but a package needs the index at build time (a source
    build whose build requirements come from the index)."""


class LocalBuildError(DockerfileError):
    """A local package (or the app) could not be built into a wheel for the context."""
