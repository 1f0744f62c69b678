"""Reader for uv lockfiles (being written)."""

from layerplan.hookspecs import hookimpl


@hookimpl
def layerplan_lock_formats() -> list[object]:
    return []
