"""Human-readable sizes, the same in every table and summary."""

from __future__ import annotations

__all__ = ["format_size"]


def format_size(size: int | None) -> str:
    """``512 B``, ``16.8 MB`` (decimal units, as registries and `docker images` show); ``?`` when unknown."""
    if size is None:
        return "?"
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            break
    return f"{value:.1f} {unit}"
