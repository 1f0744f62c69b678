"""Plans of several platforms side by side: which layers every platform shares.

A layer's key depends only on its inputs (wheel hashes, Python version, venv...), never
on the architecture, so a layer with the same name and key in every platform's plan has
the same contents everywhere: it is built once and has one digest in every manifest
(pure-Python groups, local packages, the app, the environment when the Pythons agree).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from layerplan.plan.model import LayerPlan

__all__ = ["multi_plan_json", "shared_layers"]


def shared_layers(plans: Sequence[LayerPlan]) -> tuple[str, ...]:
    """Names of the file layers that have the same key in every plan, in the first plan's
    order (every layer of a single plan)."""
    if not plans:
        return ()
    keys = [{layer.name: layer.key for layer in plan.layers if layer.kind != "config"} for plan in plans]
    return tuple(name for name, key in keys[0].items() if all(other.get(name) == key for other in keys[1:]))


def multi_plan_json(plans: Sequence[LayerPlan]) -> dict[str, Any]:
    """The ``layerplan plan --json`` document of several platforms (docs/plan-json.md):
    each platform's plan in the one-platform shape, and the layers they share."""
    return {
        "schema": "layerplan.plan-index/1",
        "platforms": [plan.to_json() for plan in plans],
        "shared_layers": list(shared_layers(plans)),
    }
