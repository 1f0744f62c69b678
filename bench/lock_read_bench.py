"""How long each lock reader takes on synthetic locks of 1,000, 10,000 and 20,000 packages.

Run: .venv/bin/python bench/lock_read_bench.py [--sizes 1000,10000,20000] [--runs R]

Prints a table: per format, the fastest of ``R`` reads (default 3) at each size (the
reader alone, in this process: read the file, parse, validate, build the ``Lock``) and the
least CPU time (``process_time``) of those reads, the
time per 1,000 packages at the largest size against the smallest (linear readers keep it
flat), and the TOML/JSON parse alone at the largest size. The machine's load average is
printed with it: on a shared machine the fastest of a few runs is the fairest number.

Goal (issue 11): every format reads a 20,000-package lock in under one second. It is
checked on the least CPU time (other work on a shared machine stretches the wall-clock
time, not the CPU time); the goal column also says whether the fastest wall-clock read
made it. Exits 1 when a format misses it (only when 20,000 is among the sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from layerplan._toml import loads_toml  # noqa: E402  (the TOML loading every reader uses)
from layerplan._toml_split import loads_split  # noqa: E402  (big locks, a few entries at a time)
from layerplan.lockfiles.detect import read_lock  # noqa: E402
from layerplan.planning import available_formats  # noqa: E402
from tests.lockfiles.synthetic import (  # noqa: E402
    make_pdm_lock,
    make_pipfile_lock,
    make_poetry_lock,
    make_pylock,
    make_requirements,
    make_uv_lock,
)

GOAL_SECONDS = 1.0
GOAL_PACKAGES = 20_000
MAKERS: dict[str, tuple[str, str, Callable[[int, Path], Path]]] = {
    # label: (reader, file name, maker)
    "uv.lock": ("uv", "uv.lock", make_uv_lock),
    "pylock.toml": ("pylock", "pylock.toml", make_pylock),
    "poetry.lock": ("poetry", "poetry.lock", make_poetry_lock),
    "pdm.lock": ("pdm", "pdm.lock", make_pdm_lock),
    "Pipfile.lock": ("pipfile", "Pipfile.lock", make_pipfile_lock),
    "requirements.txt": ("requirements", "requirements.txt", make_requirements),
}


def fastest(action: Callable[[], object], runs: int) -> float:
    return fastest_with_cpu(action, runs)[0]


def fastest_with_cpu(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """The fastest of ``runs`` in wall-clock time, and the least CPU time (``process_time``)
    of any run: on a loaded machine the CPU time shows what the reader itself costs."""
    samples, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(samples), min(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,20000", help="package counts, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    formats = {fmt.name: fmt for fmt in available_formats()}
    console = Console(width=132)
    console.print(_machine())
    table = Table(title=f"reading a synthetic lock (fastest of {args.runs}, in-process)")
    table.add_column("format")
    for size in sizes:
        table.add_column(f"{size:,}: wall / CPU", justify="right")
    for column in (
        f"per 1,000 at {sizes[-1]:,} / at {sizes[0]:,}",
        f"size at {sizes[-1]:,}",
        f"parse alone at {sizes[-1]:,}",
    ):
        table.add_column(column, justify="right")
    if GOAL_PACKAGES in sizes:
        table.add_column(f"{GOAL_PACKAGES:,} < {GOAL_SECONDS:.0f} s (CPU)", justify="right")
    missed = []
    with tempfile.TemporaryDirectory(prefix="layerplan-lock-bench-") as tmp:
        for label, (reader, filename, make) in MAKERS.items():
            seconds: dict[int, float] = {}
            cpus: dict[int, float] = {}
            lock_format = formats[reader]
            for size in sizes:
                directory = Path(tmp) / str(size)
                directory.mkdir(exist_ok=True)
                path = make(size, directory / filename)
                count = len(read_lock(path, lock_format).packages)
                if count < size:
                    raise SystemExit(f"{label}: read {count} packages of {size}")
                seconds[size], cpus[size] = fastest_with_cpu(lambda: read_lock(path, lock_format), args.runs)  # noqa: B023
            parse = fastest(lambda: _parse(path), args.runs)  # noqa: B023
            per_small, per_large = seconds[sizes[0]] / sizes[0], seconds[sizes[-1]] / sizes[-1]
            row = [label, *(f"{seconds[size]:.2f} / {cpus[size]:.2f} s" for size in sizes)]
            row += [f"{per_large * 1000:.3f} / {per_small * 1000:.3f} s", f"{path.stat().st_size / 1e6:.1f} MB"]
            row.append(f"{parse:.2f} s" if parse else "-")
            if GOAL_PACKAGES in sizes:
                met = cpus[GOAL_PACKAGES] < GOAL_SECONDS
                wall = "wall too" if seconds[GOAL_PACKAGES] < GOAL_SECONDS else "wall not"
                row.append(f"met, {wall}" if met else "MISSED")
                if not met:
                    missed.append(label)
            table.add_row(*row)
    console.print(table)
    if missed:
        console.print(f"goal missed by: {', '.join(missed)}")
    return 1 if missed else 0


def _parse(path: Path) -> float:
    """The TOML/JSON parse alone (the floor under a reader; requirements files have none)."""
    if path.name == "requirements.txt":
        return 0.0
    text = path.read_text(encoding="utf-8")
    entries = "packages" if path.name == "pylock.toml" else "package"
    start = time.perf_counter()
    if path.name == "Pipfile.lock":
        json.loads(text)
    elif loads_split(text, entries, loads_toml) is None:
        loads_toml(text)
    return time.perf_counter() - start


def _machine() -> str:
    """What the numbers were measured on: load, CPUs, Python, commit."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = "?"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"commit {commit or '?'}; Python {platform.python_version()} on {platform.machine()}; "
        f"{os.cpu_count()} CPUs; load average {load} (1, 5, 15 min)"
    )


if __name__ == "__main__":
    sys.exit(main())
