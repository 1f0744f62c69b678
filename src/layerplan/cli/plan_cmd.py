"""``layerplan plan``: show the ordered layers with their contents, keys and reasons."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from layerplan.cli import render
from layerplan.errors import LockfileError
from layerplan.lockfiles import find_lock, read_lock
from layerplan.plan import LayerPlan, diff_plans
from layerplan.planning import PlanRequest, available_formats, plan_project

__all__ = ["add_target_options", "register", "request_from_args"]


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that plans: project, lock and target."""
    parser.add_argument("project", nargs="?", default=".", type=Path, help="project directory (default: .)")
    parser.add_argument("--lock", type=Path, help="lockfile to read (default: auto-detect)")
    parser.add_argument("--python", help="target Python X.Y (default: [tool.layerplan] or 3.12)")
    parser.add_argument("--platform", help="target OS/ARCH: linux/amd64 or linux/arm64")
    parser.add_argument("--libc", help="target C library: glibc-X.Y or musl-X.Y (default glibc-2.36)")
    parser.add_argument("--package", help="workspace member to plan (uv workspaces)")
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


def register(commands: Any) -> None:
    """Add the ``plan`` subcommand."""
    parser = commands.add_parser(
        "plan",
        help="show the layers an image of the project would have, and why",
        description="Read the project and its lockfile, pick the wheels for the target, and print the layer plan.",
    )
    add_target_options(parser)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON (documented in docs/plan-json.md)")
    parser.add_argument(
        "--diff-against",
        metavar="OLD_LOCK|REV",
        help="compare with the plan of an older lockfile (a path, or a git revision of the current lockfile)",
    )
    parser.add_argument(
        "--allow-missing-wheels",
        action="store_true",
        help="plan even if a package has no wheel for the target (fine for `layerplan dockerfile`)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the plan (or the diff against an older lock)."""
    request = request_from_args(args, allow_missing_wheels=args.allow_missing_wheels or bool(args.diff_against))
    plan = plan_project(request)
    if args.diff_against:
        old = _plan_for_old_lock(request, plan, args.diff_against)
        changes = diff_plans(old, plan)
        if args.json:
            json.dump(
                {"old": old.to_json(), "new": plan.to_json(), "layers": [
                    {"name": c.name, "kind": c.kind, "status": c.status, "details": list(c.details)} for c in changes
                ]},
                sys.stdout,
                indent=2,
            )
            print()
        else:
            render.print_diff(changes, old, plan)
        return 0
    if args.json:
        json.dump(plan.to_json(), sys.stdout, indent=2)
        print()
    else:
        render.print_plan(plan)
    return 0


def _plan_for_old_lock(request: PlanRequest, plan: LayerPlan, against: str) -> LayerPlan:
    """Plan again with the old lock: a file path, or ``REV`` / ``REV:path`` from git."""
    project_root = request.project.resolve()
    current_lock = (project_root / plan.lock_path).resolve()
    candidate = Path(against)
    if candidate.is_file():
        # An old copy is often renamed (old-uv.lock): read it as the current lock's format.
        formats = available_formats()
        lock_format = next((f for f in formats if f.accepts(candidate)), None) or next(
            f for f in formats if f.name == plan.install_set.lock_format
        )
        return plan_project(request, lock_override=read_lock(candidate, lock_format), lock_dir=current_lock.parent)
    revision, _, rev_path = against.partition(":")
    with tempfile.TemporaryDirectory(prefix="layerplan-old-lock-") as tmp:
        old_file = Path(tmp) / current_lock.name
        old_file.write_bytes(_git_show(current_lock, revision, rev_path))
        path, lock_format = find_lock(project_root, available_formats(), old_file)
        old = plan_project(request, lock_override=read_lock(path, lock_format), lock_dir=current_lock.parent)
        return dataclasses.replace(old, lock_path=f"{revision}:{rev_path or plan.lock_path}")


def _git_show(current_lock: Path, revision: str, rev_path: str) -> bytes:
    try:
        top = subprocess.run(
            ["git", "-C", str(current_lock.parent), "rev-parse", "--show-toplevel"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        relative = rev_path or current_lock.relative_to(Path(top).resolve()).as_posix()
        return subprocess.run(
            ["git", "-C", top, "show", f"{revision}:{relative}"], capture_output=True, check=True
        ).stdout
    except FileNotFoundError:
        raise LockfileError("git is not installed", hint="pass the old lockfile as a path") from None
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or "").strip().splitlines()
        raise LockfileError(
            f"--diff-against {revision!r}: not a file, and git cannot show it ({detail[-1] if detail else 'error'})",
            path=current_lock,
            hint="pass an existing lockfile path, or a git revision such as HEAD~1",
        ) from None
