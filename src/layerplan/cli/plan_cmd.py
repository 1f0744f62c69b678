"""``layerplan plan``: show the ordered layers with their contents, keys and reasons."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from layerplan.cli.options import add_base_options, add_target_options, examples, non_empty, request_from_args
from layerplan.errors import ConfigError, LockfileError

if TYPE_CHECKING:  # the planning stack loads when `plan` runs, not when any command starts
    from layerplan.plan.model import LayerPlan
    from layerplan.resolution import ResolvedBuild

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``plan`` subcommand."""
    parser = commands.add_parser(
        "plan",
        help="show the layers an image of the project would have, and why",
        description="Read the project and its lockfile, pick the wheels for the target, and print the layer plan.",
        epilog=examples(
            ("layerplan plan", "the plan of the project in this directory"),
            ("layerplan plan --base python:3.12-slim", "the target (Python, arch, libc) read from the base"),
            ("layerplan plan --platform linux/arm64 --json", "for arm64, as JSON (docs/plan-json.md)"),
            ("layerplan plan --platform linux/amd64,linux/arm64", "per platform, and the layers they share"),
            ("layerplan plan --diff-against HEAD~1", "which layers a lock change rebuilds"),
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(parser)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON (documented in docs/plan-json.md)")
    parser.add_argument(
        "--diff-against",
        type=non_empty,
        metavar="OLD_LOCK|REV",
        help="compare with the plan of an older lockfile (a path, or a git revision of the current lockfile)",
    )
    parser.add_argument(
        "--allow-missing-wheels",
        action="store_true",
        help="plan even if a package has no wheel for the target (fine for `layerplan dockerfile`)",
    )
    add_base_options(
        parser,
        base_help="read the target (Python, arch, libc) from this base image, as `layerplan build` does "
        "(default: tool.layerplan.base or the hatch image target's base, when set)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the plan (or the diff against an older lock)."""
    from layerplan.plan.diff import diff_plans
    from layerplan.resolution import plan_build, resolve_build

    request = request_from_args(args, allow_missing_wheels=args.allow_missing_wheels or bool(args.diff_against))
    with resolve_build(request) as resolved:
        if resolved.several_platforms:
            return _run_several(resolved, args)
        plan = plan_build(resolved)
        old = _plan_for_old_lock(resolved, plan, args.diff_against) if args.diff_against else None
    if old is not None:
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
            from layerplan.cli import render  # rich tables: loaded only to print them

            render.print_diff(changes, old, plan)
        return 0
    if args.json:
        from layerplan.console import warn_each

        json.dump(plan.to_json(), sys.stdout, indent=2)
        print()
        warn_each(plan.warnings)  # in the JSON, and said where a person (or CI log) sees it
    else:
        from layerplan.cli import render

        render.print_plan(plan)
    return 0


def _run_several(resolved: ResolvedBuild, args: argparse.Namespace) -> int:
    """The plan of each platform, and which layers they share (docs/multi-platform.md)."""
    from layerplan.console import warn_each
    from layerplan.plan.multi import multi_plan_json, shared_layers
    from layerplan.resolution import plan_platforms

    if args.diff_against:
        raise ConfigError(
            "--diff-against compares one platform's plans", key="--diff-against", hint="pass one --platform with it"
        )
    plans = [plan for _, plan in plan_platforms(resolved)]
    if args.json:
        json.dump(multi_plan_json(plans), sys.stdout, indent=2)
        print()
        warn_each(tuple(dict.fromkeys(w for plan in plans for w in plan.warnings)))
        return 0
    from layerplan.cli import render

    render.print_platform_plans(plans, shared_layers(plans))
    return 0


def _plan_for_old_lock(resolved: ResolvedBuild, plan: LayerPlan, against: str) -> LayerPlan:
    """Plan again with the old lock: a file path, or ``REV`` / ``REV:path`` from git."""
    from layerplan.lockfiles import find_lock, read_lock
    from layerplan.planning import available_formats
    from layerplan.resolution import plan_build

    current_lock = resolved.lock.path.resolve()
    candidate = Path(against)
    if candidate.is_file():
        # An old copy is often renamed (old-uv.lock): read it as the current lock's format.
        formats = available_formats()
        lock_format = next((f for f in formats if f.accepts(candidate)), None) or next(
            f for f in formats if f.name == plan.install_set.lock_format
        )
        return plan_build(resolved, lock=read_lock(candidate, lock_format))
    revision, _, rev_path = against.partition(":")
    from layerplan.cache.scratch import scratch_directory

    with scratch_directory("old-lock") as tmp:
        old_file = tmp / current_lock.name
        old_file.write_bytes(_git_show(current_lock, revision, rev_path))
        path, lock_format = find_lock(resolved.project.root, available_formats(), old_file)
        old = plan_build(resolved, lock=read_lock(path, lock_format))
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
