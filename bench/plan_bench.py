"""Planning speed on a synthetic 1,000-package project (uv.lock and pylock.toml).

Run: .venv/bin/python bench/plan_bench.py [--packages N] [--runs R]

Prints a table: median time to read the lock, to resolve + plan (the pure stages), the
whole in-process pipeline, and the whole `layerplan plan --json` process. Goals (from
the planner issue): plan < 150 ms and the process < 0.6 s for 1,000 packages.
"""

from __future__ import annotations

import argparse
import statistics
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

from layerplan.plan.planner import make_plan  # noqa: E402
from layerplan.plan.config import read_config  # noqa: E402
from layerplan.planning import available_formats, available_strategies  # noqa: E402
from layerplan.project import read_project  # noqa: E402
from layerplan.selection import compute_install_set  # noqa: E402
from layerplan.target import make_target  # noqa: E402
from tests.lockfiles.synthetic import make_pylock, make_uv_lock  # noqa: E402

GOAL_PLAN_MS = 150.0
GOAL_PROCESS_MS = 600.0


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm caches (imports, lru caches) as a long-lived process would
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def make_project(directory: Path, kind: str, packages: int) -> Path:
    directory.mkdir(parents=True)
    (directory / "pyproject.toml").write_text(
        '[project]\nname = "synthetic-app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        '[tool.layerplan]\npython = "3.11"\n',
        encoding="utf-8",
    )
    (directory / "synthetic_app.py").write_text("print('hi')\n", encoding="utf-8")
    if kind == "uv.lock":
        make_uv_lock(packages, directory / "uv.lock")
    else:
        make_pylock(packages, directory / "pylock.toml")
    return directory


def bench(directory: Path, kind: str, runs: int) -> dict[str, float]:
    project = read_project(directory)
    config = read_config(project.config)
    lock_format = next(f for f in available_formats() if f.detects(directory / kind))
    target = make_target(python="3.11")
    strategies = available_strategies()
    lock = lock_format.read(directory / kind)

    def plan_only() -> object:
        install_set = compute_install_set(project, lock, target)
        return make_plan(project, install_set, config, strategies, lock_path=kind, app_digest="0" * 64)

    def pipeline() -> object:
        fresh = lock_format.read(directory / kind)
        install_set = compute_install_set(project, fresh, target)
        return make_plan(project, install_set, config, strategies, lock_path=kind, app_digest="0" * 64)

    def process() -> object:
        return subprocess.run(
            [sys.executable, "-m", "layerplan", "plan", str(directory), "--json"],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    installed = len(plan_only().install_set.items)  # type: ignore[attr-defined]
    return {
        "installed": installed,
        "read": median_ms(lambda: lock_format.read(directory / kind), runs),
        "plan": median_ms(plan_only, runs),
        "pipeline": median_ms(pipeline, runs),
        "process": median_ms(process, max(3, runs // 2)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    table = Table(title=f"layerplan plan: {args.packages} locked packages (median of {args.runs} runs)")
    for column in ("lock", "installed", "read lock", "resolve + plan", "in-process total", "`plan --json` process"):
        table.add_column(column, justify="right")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("uv.lock", "pylock.toml"):
            result = bench(make_project(Path(tmp) / kind, kind, args.packages), kind, args.runs)
            plan_ok = result["plan"] < GOAL_PLAN_MS
            process_ok = result["process"] < GOAL_PROCESS_MS
            failed |= not (plan_ok and process_ok)
            table.add_row(
                kind,
                str(int(result["installed"])),
                f"{result['read']:.1f} ms",
                f"{result['plan']:.1f} ms {'ok' if plan_ok else 'SLOW'}",
                f"{result['pipeline']:.1f} ms",
                f"{result['process']:.0f} ms {'ok' if process_ok else 'SLOW'}",
            )
    console = Console()
    console.print(table)
    console.print(f"goals: resolve + plan < {GOAL_PLAN_MS:.0f} ms, whole process < {GOAL_PROCESS_MS:.0f} ms")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
