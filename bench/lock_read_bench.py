"""How long each lock reader takes on a synthetic lock of many packages (default 20,000).

Run: .venv/bin/python bench/lock_read_bench.py [--packages N] [--runs R]

Prints a table: the lock's size and the median time to read it (the reader alone: parse,
validate, build the ``Lock``). Goal (issue 11): under one second for 20,000 packages in
every format; readers must be linear (a reader that split the text per entry took 96 s
for 16,000 poetry entries).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from layerplan._toml import tomllib  # noqa: E402  (the parser the readers use: tomli when present)
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
MAKERS: dict[str, tuple[str, Callable[[int, Path], Path]]] = {
    "uv.lock": ("uv.lock", make_uv_lock),
    "pylock.toml": ("pylock.toml", make_pylock),
    "poetry.lock": ("poetry.lock", make_poetry_lock),
    "pdm.lock": ("pdm.lock", make_pdm_lock),
    "Pipfile.lock": ("Pipfile.lock", make_pipfile_lock),
    "requirements.txt": ("requirements.txt", make_requirements),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    formats = {fmt.name: fmt for fmt in available_formats()}
    table = Table(title=f"reading a {args.packages:,}-package lock (median of {args.runs})")
    for column in ("format", "size", "packages read", "read", "of which parsing", f"goal < {GOAL_SECONDS:.0f} s"):
        table.add_column(column, justify="right" if column != "format" else "left")
    with tempfile.TemporaryDirectory(prefix="layerplan-lock-bench-") as tmp:
        for label, (filename, make) in MAKERS.items():
            path = make(args.packages, Path(tmp) / filename)
            fmt = formats[_format_name(label)]
            samples, count = [], 0
            for _ in range(args.runs):
                start = time.perf_counter()
                count = len(read_lock(path, fmt).packages)
                samples.append(time.perf_counter() - start)
            seconds = statistics.median(samples)
            parse = statistics.median(_parse_seconds(path) for _ in range(args.runs))
            table.add_row(
                label, f"{path.stat().st_size / 1e6:.1f} MB", f"{count:,}", f"{seconds:.2f} s", f"{parse:.2f} s",
                "met" if seconds < GOAL_SECONDS else "MISSED",
            )  # fmt: skip
    Console().print(table)
    return 0


def _parse_seconds(path: Path) -> float:
    """The TOML/JSON parser alone (the floor under any reader; requirements have none)."""
    text = path.read_text(encoding="utf-8")
    start = time.perf_counter()
    if path.name.endswith((".toml", ".lock")) and path.name != "Pipfile.lock":
        tomllib.loads(text)
    elif path.name == "Pipfile.lock":
        json.loads(text)
    else:
        return 0.0
    return time.perf_counter() - start


def _format_name(label: str) -> str:
    return {"uv.lock": "uv", "pylock.toml": "pylock", "poetry.lock": "poetry", "pdm.lock": "pdm",
            "Pipfile.lock": "pipfile", "requirements.txt": "requirements"}[label]  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
