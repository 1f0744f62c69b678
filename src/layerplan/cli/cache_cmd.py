"""``layerplan cache``: how big the local cache is, and pruning it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from layerplan.cache.store import BlobCache

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``cache`` subcommand with ``info`` and ``prune``."""
    parser = commands.add_parser("cache", help="show or prune the local layer and wheel cache")
    actions = parser.add_subparsers(dest="cache_action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="where the cache is and how big")
    info.add_argument("--cache-dir", type=Path)
    info.set_defaults(handler=run_info)
    prune = actions.add_parser("prune", help="remove old or unreferenced entries")
    prune.add_argument("--cache-dir", type=Path)
    prune.add_argument("--older-than", type=int, metavar="DAYS", help="remove entries unused for DAYS days")
    prune.add_argument("--unreferenced", action="store_true", help="remove blobs no layer key points to")
    prune.add_argument("--all", action="store_true", help="remove everything (same as --older-than 0)")
    prune.set_defaults(handler=run_prune)


def run_info(args: argparse.Namespace) -> int:
    print(BlobCache(args.cache_dir).report().describe())
    return 0


def run_prune(args: argparse.Namespace) -> int:
    cache = BlobCache(args.cache_dir)
    older = 0 if args.all else args.older_than
    if older is None and not args.unreferenced:
        older = 30
    result = cache.prune(older_than_days=older, unreferenced=args.unreferenced, grace_seconds=0 if args.all else 3600)
    print(
        f"removed {result.blobs} blob(s), {result.keys} layer key(s), {result.temp_files} temp file(s); "
        f"freed {result.freed_bytes / 1e6:.1f} MB"
    )
    print(cache.report().describe())
    return 0
