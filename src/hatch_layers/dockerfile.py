"""``mode = "dockerfile"``: write a Dockerfile build context with layerplan's emitter."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from layerplan.errors import LayerplanError

if TYPE_CHECKING:
    from layerplan.resolution import Request

__all__ = ["write_context"]


def write_context(request: Request, context: Path, *, flavour: str, offline: bool, quiet: bool) -> tuple[str, ...]:
    """Write the build context of ``request`` into ``context`` (replacing an earlier one);
    return the emitter's warnings.

    Raises ``LayerplanError`` for bad input, or when this layerplan has no emitter.
    """
    try:
        from layerplan.dockerfile import DockerfileRequest, emit_context
    except ImportError:
        raise LayerplanError(
            "this layerplan has no Dockerfile emitter (layerplan.dockerfile)",
            hint='upgrade layerplan, or use mode = "image"',
        ) from None
    emitted = emit_context(
        DockerfileRequest(
            build=request,
            output=context,
            flavour=flavour,  # type: ignore[arg-type]  # checked against FLAVOURS in config
            offline=offline,
            force=True,  # the context is this target's artifact: each build replaces it
            quiet=quiet,
        )
    )
    return emitted.warnings
