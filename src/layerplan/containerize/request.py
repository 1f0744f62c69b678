"""What a direct build is asked to do: the plan request, the base image and the outputs
(specs, parsed by ``layerplan.transports``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from layerplan.planning import PlanRequest

__all__ = ["BuildRequest"]


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildRequest:
    """A direct (daemonless) image build."""

    plan: PlanRequest
    base: str | None = None
    """Base image: a registry reference, or ``docker://NAME``, ``oci-layout:DIR``,
    ``oci-archive:FILE``, ``docker-archive:FILE``. Default: ``[tool.layerplan] base``."""
    outputs: tuple[str, ...] = ()
    """Output specs (see ``transports.parse_output``). Default: ``[tool.layerplan] outputs``."""
    tags: tuple[str, ...] = ()
    """Extra names for archive outputs (``docker-archive`` RepoTags, OCI ref name)."""
    insecure_registries: tuple[str, ...] = ()
    """``HOST:PORT`` reached over plain HTTP (loopback registries always are)."""
    cache_dir: Path | None = None
    app_wheel: Path | None = None
    """A wheel of the project built already (the hatch plugin passes its own)."""
    epoch: int | None = None
    """``SOURCE_DATE_EPOCH`` override; default: the environment's, else a fixed time."""
    quiet: bool = False
    labels: dict[str, str] = field(default_factory=dict)
