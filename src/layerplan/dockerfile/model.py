"""What the emitter decided: options, and where each file sits in the build context.

``render`` turns a ``ContextLayout`` into Dockerfile text without touching the disk, so
the text can be checked (golden files) apart from the slow parts that make the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from layerplan.plan.model import PlannedLayer

__all__ = [
    "FLAVOURS",
    "IMAGE_DIR",
    "WHEELHOUSE",
    "ContextLayout",
    "DependencyStep",
    "DockerfileOptions",
    "Flavour",
    "LocalStep",
]

Flavour = Literal["portable", "buildkit"]
FLAVOURS: tuple[Flavour, ...] = ("portable", "buildkit")

IMAGE_DIR = "/opt/layerplan"
"""Where the context's files are copied in the image: outside the venv, so the venv
holds only the locked packages."""

WHEELHOUSE = "/wheels"
"""Where pip finds the downloaded wheels of an ``--offline`` context."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DockerfileOptions:
    """How to write the Dockerfile."""

    base: str
    """Fully qualified base image reference (buildah and kaniko need the registry)."""
    flavour: Flavour = "portable"
    """``portable``: classic ``docker build``, buildah, kaniko (no BuildKit-only syntax).
    ``buildkit``: adds a pip cache mount (and bind-mounts the wheelhouse offline)."""
    offline: bool = False
    """pip uses only the wheels in the context (``--no-index``): builds with no network."""
    compile_bytecode: bool = True
    """pip compiles ``.pyc`` files at install time (``--no-compile`` otherwise)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DependencyStep:
    """One dependency layer of the plan: a requirements file and one ``RUN``."""

    number: int
    """1-based position of the layer in the plan (the ``NN`` of the file name)."""
    layer: PlannedLayer
    requirements: str
    """Context path of the requirements file, e.g. ``requirements/02-dep-numpy.txt``."""
    hashed: bool = True
    """Every line pins hashes, so pip runs with ``--require-hashes``."""
    wheels: tuple[str, ...] = ()
    """Offline: context paths of this layer's wheels (``wheels/NAME.whl``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalStep:
    """The local packages layer: files built (or taken) by layerplan, in the context."""

    number: int
    layer: PlannedLayer
    files: tuple[str, ...]
    """Context paths (``local/NAME.whl``, or ``local/NAME.tar.gz`` built in the image)."""
    needs_index: bool = False
    """An sdist is among the files: pip fetches its build requirements from the index."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ContextLayout:
    """Every file of the build context the Dockerfile uses, by context path."""

    pip_wheel: str
    """``layerplan/pip-X-py3-none-any.whl``: the installer, run from its wheel."""
    python: str
    """The base interpreter that creates the venv (``python3.11`` or a full path)."""
    venv: str
    dependencies: tuple[DependencyStep, ...] = ()
    local: LocalStep | None = None
    app_wheel: str | None = None
    """``dist/NAME-VERSION-py3-none-any.whl``; ``None`` when the project has nothing of its own."""
    app_needs_index: bool = False
    """``app_wheel`` is an sdist (compiled code): pip builds it in the image."""
    app_number: int | None = None
    environment_number: int = 1
    config_number: int | None = None

    @property
    def copied_files(self) -> tuple[str, ...]:
        """Every context path a ``COPY`` or a bind mount reads, in Dockerfile order."""
        files = [self.pip_wheel]
        for step in self.dependencies:
            files.append(step.requirements)
            files.extend(step.wheels)
        if self.local is not None:
            files.extend(self.local.files)
        if self.app_wheel is not None:
            files.append(self.app_wheel)
        return tuple(dict.fromkeys(files))
