"""The hooks a layerplan plugin can implement.

Plugins are found through the ``layerplan`` entry-point group; the built-in lockfile
readers and strategies are registered the same way. Implementations may take fewer
arguments than a spec, so specs can grow without breaking plugins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from layerplan.lockfiles.format import LockFormat
    from layerplan.plan.strategy import LayerStrategy

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "layerplan"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def layerplan_lock_formats() -> Sequence[LockFormat]:
    """Return the lockfile formats this plugin can read (see ``LockFormat``)."""
    raise NotImplementedError


@hookspec
def layerplan_layer_strategies() -> Sequence[LayerStrategy]:
    """Return named strategies that split an install set into layers."""
    raise NotImplementedError
