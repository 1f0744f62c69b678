"""Default layer strategy (being written)."""

from layerplan.hookspecs import hookimpl


@hookimpl
def layerplan_layer_strategies() -> list[object]:
    return []
