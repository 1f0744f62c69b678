"""The Dockerfile emitter: a layer plan becomes a build context (``layerplan dockerfile``).

``emit_context(DockerfileRequest(...))`` writes the directory; ``render_dockerfile`` and
``requirements_file`` are the pure parts, usable on their own.
"""

from layerplan.dockerfile.emit import (
    DockerfileRequest,
    EmittedContext,
    default_base,
    emit_context,
    qualify_base,
)
from layerplan.dockerfile.errors import (
    DockerfileError,
    LocalBuildError,
    OfflineError,
    OutputDirError,
)
from layerplan.dockerfile.ignore import dockerignore_text
from layerplan.dockerfile.installer import PINNED_PIPS, PinnedPip, pip_for
from layerplan.dockerfile.model import (
    FLAVOURS,
    IMAGE_DIR,
    WHEELHOUSE,
    ContextLayout,
    DependencyStep,
    DockerfileOptions,
    Flavour,
    LocalStep,
)
from layerplan.dockerfile.render import render_dockerfile
from layerplan.dockerfile.requirements import (
    RequirementsFile,
    allowed_hashes,
    requirements_file,
    step_filename,
)

__all__ = [
    "FLAVOURS",
    "IMAGE_DIR",
    "PINNED_PIPS",
    "WHEELHOUSE",
    "ContextLayout",
    "DependencyStep",
    "DockerfileError",
    "DockerfileOptions",
    "DockerfileRequest",
    "EmittedContext",
    "Flavour",
    "LocalBuildError",
    "LocalStep",
    "OfflineError",
    "OutputDirError",
    "PinnedPip",
    "RequirementsFile",
    "allowed_hashes",
    "default_base",
    "dockerignore_text",
    "emit_context",
    "pip_for",
    "qualify_base",
    "render_dockerfile",
    "requirements_file",
    "step_filename",
]
