"""Compare two plans: which layers a change rebuilds and which it reuses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from layerplan.plan.model import PlannedLayer, LayerPlan

__all__ = ["LayerChange", "diff_plans"]

ChangeStatus = Literal["reused", "changed", "added", "removed"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerChange:
    """One layer's fate between an old and a new plan."""

    name: str
    kind: str
    status: ChangeStatus
    details: tuple[str, ...] = ()
    """Package-level changes, e.g. ``idna 3.7 -> 3.10``, ``+ new-package 1.0``."""


def diff_plans(old: LayerPlan, new: LayerPlan) -> tuple[LayerChange, ...]:
    """Every layer of ``new`` (in order) then the layers only ``old`` has.

    A layer whose key is unchanged is reused, even if renamed, since its bytes are the
    same: that is what a cache or a registry will see.
    """
    old_by_name = {layer.name: layer for layer in old.layers}
    old_keys = {layer.key for layer in old.layers}
    changes: list[LayerChange] = []
    for layer in new.layers:
        before = old_by_name.get(layer.name)
        if layer.key in old_keys:
            changes.append(LayerChange(name=layer.name, kind=layer.kind, status="reused"))
        elif before is None:
            changes.append(LayerChange(name=layer.name, kind=layer.kind, status="added", details=_package_changes(None, layer)))
        else:
            changes.append(LayerChange(name=layer.name, kind=layer.kind, status="changed", details=_package_changes(before, layer)))
    new_names = {layer.name for layer in new.layers}
    new_keys = {layer.key for layer in new.layers}
    for layer in old.layers:
        if layer.name not in new_names and layer.key not in new_keys:
            changes.append(LayerChange(name=layer.name, kind=layer.kind, status="removed", details=_package_changes(layer, None)))
    return tuple(changes)


def _package_changes(before: PlannedLayer | None, after: PlannedLayer | None) -> tuple[str, ...]:
    old = {item.name: item.version for item in before.packages} if before else {}
    new = {item.name: item.version for item in after.packages} if after else {}
    details = []
    for name in sorted(old.keys() | new.keys()):
        if name not in old:
            details.append(f"+ {name} {new[name]}")
        elif name not in new:
            details.append(f"- {name} {old[name]}")
        elif old[name] != new[name]:
            details.append(f"{name} {old[name]} -> {new[name]}")
    return tuple(details)
