"""Options shared by every command that plans: project, lock and target.

Kept apart from ``plan_cmd`` so ``build`` and ``dockerfile`` load no table rendering.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from layerplan.planning import PlanRequest

__all__ = ["add_target_options", "non_empty", "request_from_args"]


def non_empty(value: str) -> str:
    """argparse type: an empty value (``--platform ''``) is an error, not "unset"."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that plans: project, lock and target."""
    parser.add_argument("project", nargs="?", default=".", type=Path, help="project directory (default: .)")
    parser.add_argument("--lock", type=lambda v: Path(non_empty(v)), help="lockfile to read (default: auto-detect)")
    parser.add_argument("--python", type=non_empty, help="target Python X.Y (default: [tool.layerplan] or 3.12)")
    parser.add_argument("--platform", type=non_empty, help="target OS/ARCH: linux/amd64 or linux/arm64")
    parser.add_argument("--libc", type=non_empty, help="target C library: glibc-X.Y or musl-X.Y (default glibc-2.36)")
    parser.add_argument("--package", type=non_empty, help="workspace member to plan (uv workspaces)")
    parser.add_argument("--extra", action="append", default=[], dest="extras", help="install this extra (repeatable)")
    parser.add_argument(
        "--group", action="append", default=[], dest="groups", help="install this dependency group (repeatable)"
    )
    parser.add_argument(
        "--no-index",
        action="store_true",
        help="never ask the package index for wheel sizes the lock lacks (poetry, pdm, Pipfile, requirements)",
    )


def request_from_args(args: argparse.Namespace, *, allow_missing_wheels: bool) -> PlanRequest:
    """A ``PlanRequest`` from parsed target options."""
    return PlanRequest(
        project=args.project,
        lock=args.lock,
        python=args.python,
        platform=args.platform,
        libc=args.libc,
        package=args.package,
        extras=tuple(args.extras),
        groups=tuple(args.groups),
        allow_missing_wheels=allow_missing_wheels,
        index_sizes=not args.no_index,
        cache_dir=getattr(args, "cache_dir", None),
    )
