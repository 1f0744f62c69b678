"""Human-readable output of plans and diffs (rich tables; plain text when piped)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from layerplan._units import format_size
from layerplan.console import print_table, results, warn_each
from layerplan.plan.diff import LayerChange
from layerplan.plan.model import SDIST_BUILD, LayerPlan
from layerplan.plan.model import PlannedLayer

__all__ = ["print_diff", "print_plan", "print_platform_plans"]


def _packages(layer: PlannedLayer) -> str:
    if layer.kind == "environment":
        return ""
    if not layer.packages:
        return ""
    parts = []
    for item in layer.packages:
        text = f"{item.name} {item.version or ''}".strip()
        if item.choice == "none":
            text += " (no wheel)"
        elif item.choice == "sdist":
            text += " (built from sdist)"
        elif item.choice == "lookup":
            text += " (looked up)"
        parts.append(text)
    return ", ".join(parts)


def target_sources(plan: LayerPlan) -> str:
    """Where each target fact came from, grouped: ``Python 3.11.2, linux/amd64, glibc-2.36
    from base image X`` or ``... glibc-2.36 (default; no base image: --base reads it)``."""
    target = plan.target
    facts = {
        "python": f"Python {target.python_full_version or target.python_version_text}",
        "platform": target.platform,
        "libc": str(target.libc),
    }
    groups: dict[str, list[str]] = {}
    for name, text in facts.items():
        groups.setdefault(plan.target_from.get(name, "default"), []).append(text)
    parts = [
        f"{', '.join(texts)} ({source})" if source.startswith("default") else f"{', '.join(texts)} from {source}"
        for source, texts in groups.items()
    ]
    text = "; ".join(parts)
    if not any(source.startswith("base image") for source in groups) and any(s.startswith("default") for s in groups):
        text += " -- no base image: --base (or tool.layerplan.base) reads the target from it"
    return text


def print_plan(plan: LayerPlan, console: Console | None = None, *, shared: Sequence[str] = ()) -> None:
    """The plan: one block per layer (name, kind, size, key; then packages and why);
    a layer named in ``shared`` (the same in every platform's plan) says so."""
    console = console or results()
    version = f" {plan.project_version}" if plan.project_version else ""
    console.print(
        Text.assemble(
            ("layer plan ", "bold"), f"{plan.project_name}{version}", " for ", (plan.target.describe(), "bold"),
            f", from {plan.lock_path} ({plan.install_set.lock_format})",
        )
    )
    table = Table(box=None, header_style="bold", pad_edge=False, show_edge=False)
    table.add_column("#", justify="right")
    table.add_column("layer", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("est. size", justify="right", no_wrap=True)
    table.add_column("key", no_wrap=True)
    table.add_column("contents and reason", overflow="fold")
    for number, layer in enumerate(plan.layers, start=1):
        contents = _packages(layer)
        detail = Text(contents + "\n" if contents else "")
        detail.append(layer.reason, style="dim")
        table.add_row(
            str(number), layer.name, f"{layer.kind} (shared)" if layer.name in shared else layer.kind, format_size(layer.estimated_size) if layer.packages else "",
            layer.key[:12], detail,
        )
    print_table(console, table)
    console.print(Text(f"target: {target_sources(plan)}", style="dim"))
    installed = len(plan.install_set.items)
    console.print(f"{installed} packages for {plan.target.describe()}; {len(plan.layers) - 1} filesystem layers + config")
    for item in plan.install_set.items:
        if item.choice == "sdist":
            sdist = item.sdist.filename if item.sdist is not None and item.sdist.filename else "its sdist"
            console.print(Text(f"{item.name} {item.version}: no wheel ({item.note}), built from {sdist} by {SDIST_BUILD}", style="dim"))
    warn_each(plan.warnings)


def print_platform_plans(plans: Sequence[LayerPlan], shared: Sequence[str], console: Console | None = None) -> None:
    """Each platform's plan, the layers every platform shares marked, then a summary."""
    console = console or results()
    for plan in plans:
        print_plan(plan, console, shared=shared)
        console.print()
    platforms = ", ".join(plan.target.platform for plan in plans)
    console.print(
        f"{len(plans)} platforms ({platforms}) under one index; shared by all, built and uploaded once: "
        + (", ".join(shared) or "no layer")
    )


def print_diff(changes: Sequence[LayerChange], old: LayerPlan, new: LayerPlan, console: Console | None = None) -> None:
    """Which layers a lock change rebuilds and which it reuses."""
    console = console or results()
    table = Table(header_style="bold")
    table.add_column("layer")
    table.add_column("kind")
    table.add_column("status")
    table.add_column("what changed", overflow="fold")
    styles = {"reused": "green", "changed": "yellow", "added": "cyan", "removed": "red"}
    for change in changes:
        table.add_row(change.name, change.kind, Text(change.status, style=styles[change.status]), "; ".join(change.details))
    console.print(Text.assemble(("plan diff ", "bold"), f"{old.lock_path} (old) -> {new.lock_path} (new)"))
    print_table(console, table)
    counts = {status: sum(1 for c in changes if c.status == status) for status in styles}
    console.print(", ".join(f"{n} {status}" for status, n in counts.items() if n))
