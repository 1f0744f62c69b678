"""``layerplan dockerfile``: write a build context (Dockerfile + files) that follows the plan."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layerplan._units import format_size
from layerplan.cli.options import add_base_options, add_target_options, add_verbose_option, examples, request_from_args

if TYPE_CHECKING:
    from layerplan.dockerfile import EmittedContext

# The emitter is imported when the command runs (see run()); its flavours are named
# here so `--help` needs none of it. tests/dockerfile checks they match FLAVOURS.
FLAVOUR_CHOICES = ("portable", "buildkit")

__all__ = ["register", "run", "summary"]


def register(commands: Any) -> None:
    """Add the ``dockerfile`` subcommand."""
    parser = commands.add_parser(
        "dockerfile",
        help="write a Docker build context (Dockerfile, hash-pinned requirements, wheels) that follows the plan",
        description="Plan the project, then write a build context directory whose Dockerfile installs each layer "
        "of the plan in its own cached step: `docker build -t NAME DIR` builds it.",
        epilog=examples(
            ("layerplan dockerfile -o build/context && docker build -t app build/context", "write, then build"),
            ("layerplan dockerfile -o ctx --offline", "every wheel in the context: builds with --network none"),
            ("layerplan dockerfile -o ctx --flavour buildkit --json", "with a pip cache mount; summary as JSON"),
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(parser)
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="directory to write the context to")
    add_base_options(
        parser,
        base_help="base image (default: tool.layerplan.base, else python:X.Y-slim for the target); "
        "the target is read from it, as `layerplan build` does",
    )
    parser.add_argument(
        "--flavour",
        "--flavor",
        choices=FLAVOUR_CHOICES,
        default="portable",
        help="portable: any builder (docker build, buildah, kaniko); buildkit: adds a pip cache mount",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="put every wheel into the context, so the image builds with no network (`docker build --network none`)",
    )
    parser.add_argument("--force", action="store_true", help="replace the output directory if it is not empty")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the path of the written context")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON (docs/dockerfile.md)")
    add_verbose_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the context and print what was written and how to build it."""
    from layerplan.dockerfile import DockerfileRequest, emit_context
    from layerplan.progress import show_progress

    with show_progress(verbose=args.verbose, quiet=args.quiet or args.json) as progress:
        emitted = emit_context(
            DockerfileRequest(
                build=request_from_args(args),
                output=args.output,
                flavour=args.flavour,
                offline=args.offline,
                force=args.force,
                quiet=not sys.stderr.isatty(),
            ),
            progress=progress,
        )
    from layerplan.console import warn_each

    warn_each(emitted.warnings)
    if args.json:
        json.dump(to_json(emitted), sys.stdout, indent=2)
        print()
    elif args.quiet:
        print(emitted.output)
    else:
        print(summary(emitted, shown_as=str(args.output)))
    return 0


def to_json(emitted: EmittedContext) -> dict[str, Any]:
    """The ``--json`` document: where the context is, what it holds, and which step is which layer."""
    plan, options = emitted.plan, emitted.options
    return {
        "schema": "layerplan.dockerfile/1",
        "context": str(emitted.output),
        "project": {"name": plan.project_name, "version": plan.project_version},
        "base": options.base,
        "flavour": options.flavour,
        "offline": options.offline,
        "target": plan.target.describe(),
        "layers": [{"name": layer.name, "kind": layer.kind, "key": layer.key} for layer in plan.layers],
        "files": [{"path": str(path), "size": size} for path, size in emitted.files],
        "warnings": list(emitted.warnings),
    }


def summary(emitted: EmittedContext, *, shown_as: str | None = None) -> str:
    """A few lines: what the context holds, which step is which layer, how to build it."""
    plan, layout, options = emitted.plan, emitted.layout, emitted.options
    where = shown_as or str(emitted.output)
    total = sum(size for _, size in emitted.files)
    lines = [
        f"wrote {where}: {options.flavour} Dockerfile for {plan.project_name} {plan.project_version or ''}".rstrip()
        + f" on {options.base}" + (", offline" if options.offline else ""),
        f"  {len(emitted.files)} files, {format_size(total)}: Dockerfile, .dockerignore, {layout.pip_wheel}"
        + (f", {len(layout.dependencies)} requirements files" if layout.dependencies else "")
        + (f", {len(layout.local.files)} local package file(s)" if layout.local else "")
        + (f", {layout.app_wheel}" if layout.app_wheel else "")
        + (f", {sum(len(s.wheels) for s in layout.dependencies)} wheels in wheels/" if options.offline else ""),
        "  steps, stable first: " + ", ".join(layer.name for layer in plan.layers),
    ]
    network_flag = " --network none" if options.offline else ""
    name = re.sub(r"[^a-z0-9._-]+", "-", plan.project_name.lower()).strip("-._") or "app"
    if options.flavour == "buildkit":
        lines.append(f"build it:  DOCKER_BUILDKIT=1 docker build -t {name} {where}")
        lines.append(f"       or  buildah bud{network_flag} -t {name} {where}")
    else:
        lines.append(f"build it:  docker build{network_flag} -t {name} {where}")
    from layerplan.target import DEFAULT_PLATFORM

    if plan.target.oci_platform != DEFAULT_PLATFORM:
        lines.append(f"  (the image is for {plan.target.platform}: add --platform {plan.target.platform} on another machine)")
    return "\n".join(lines)
