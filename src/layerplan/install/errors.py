"""Errors raised while installing wheels into a staging tree or building local wheels."""

from __future__ import annotations

from layerplan.errors import LayerplanError

__all__ = ["PREPARE_HINT", "BuildError", "ImpureWheelError", "InstallError", "UnsafeWheelError", "backend_hint"]

PREPARE_HINT = "check [build-system] in pyproject.toml and that the build requirements exist on the index"
"""The hint of a build environment that cannot be made (its requirements, its backend)."""


def backend_hint(kind: str, source: object) -> str:
    """The hint of a backend that failed building ``kind`` (``wheel``, ``sdist``) of ``source``:
    how to see all it printed (layerplan keeps its last line)."""
    return f"run `python -m build --{kind} {source}` to see the backend's full output"


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
