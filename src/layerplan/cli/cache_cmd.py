"""``layerplan cache``: what the local cache holds, and pruning it."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from layerplan.errors import ConfigError

__all__ = ["register"]

_DEFAULT_DAYS = 30


def register(commands: Any) -> None:
    """Add the ``cache`` subcommand with ``info`` and ``prune``."""
    parser = commands.add_parser("cache", help="show or prune the local cache (layers, wheels, build environments)")
    actions = parser.add_subparsers(dest="cache_action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="where the cache is, and what each area holds")
    info.add_argument("--cache-dir", type=Path, help="the cache (default: $LAYERPLAN_CACHE_DIR or ~/.cache/layerplan)")
    info.add_argument("--json", action="store_true", help="print the areas, counts and bytes as JSON")
    info.set_defaults(handler=run_info)
    prune = actions.add_parser("prune", help="remove old or unreferenced entries (default: unused for 30 days)")
    prune.add_argument("--cache-dir", type=Path, help="the cache (default: $LAYERPLAN_CACHE_DIR or ~/.cache/layerplan)")
    prune.add_argument(
        "--older-than", type=_days, metavar="DAYS", help=f"remove entries unused for DAYS days (default {_DEFAULT_DAYS})"
    )
    prune.add_argument("--unreferenced", action="store_true", help="remove blobs no layer key points to")
    prune.add_argument("--all", action="store_true", help="remove every entry, whatever its age")
    prune.add_argument("--dry-run", action="store_true", help="say what would be removed; remove nothing")
    prune.add_argument("--json", action="store_true", help="print what was removed, and what is left, as JSON")
    prune.set_defaults(handler=run_prune)


def _days(text: str) -> float:
    """A number of days, 0 or more (argparse turns the ValueError into one line)."""
    days = float(text)
    if not math.isfinite(days) or days < 0:
        raise ValueError(text)
    return days


_days.__name__ = "number of days (0 or more)"  # what argparse names in "invalid ... value"


def run_info(args: argparse.Namespace) -> int:
    from layerplan.cache.store import Store

    report = Store(args.cache_dir).report()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.describe())
    return 0


def run_prune(args: argparse.Namespace) -> int:
    if args.all and (args.older_than is not None or args.unreferenced):
        raise ConfigError(
            "--all removes every entry; it takes no --older-than or --unreferenced",
            hint="pass --all alone, or --older-than DAYS and/or --unreferenced",
        )
    older = args.older_than
    if older is None and not args.unreferenced and not args.all:
        older = _DEFAULT_DAYS
    from layerplan.cache.store import Store
    from layerplan.cache.sweep import scratch_places, sweep

    store = Store(args.cache_dir)
    result = store.prune(
        everything=args.all,
        older_than_days=older,
        unreferenced=args.unreferenced,
        grace_seconds=0 if args.all else 3600,
        dry_run=args.dry_run,
        say=_say,
    )
    # What killed builds left in $TMPDIR is not in the cache, but it is the cache's kind
    # of debris, and a prune is where one expects it to go.
    swept = sweep(scratch_places()) if not args.dry_run else None
    left = store.report() if not args.dry_run else None
    if args.json:
        document: dict[str, object] = {"schema": "layerplan.cache-prune/1", **result.to_json()}
        document["scratch_removed"] = {"count": swept.count if swept else 0, "bytes": swept.size if swept else 0}
        document["left"] = left.to_json() if left else None
        print(json.dumps(document, indent=2))
        return 0
    print(result.describe())
    if swept and swept.count:
        print(swept.describe().removeprefix("layerplan: "))
    if left:
        print(left.describe())
    return 0


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
