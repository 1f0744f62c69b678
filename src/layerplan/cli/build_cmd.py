"""``layerplan build``: build the image directly (no Dockerfile, no daemon) and deliver it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from layerplan.cli.options import add_target_options, non_empty, request_from_args

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``build`` subcommand."""
    parser = commands.add_parser(
        "build",
        help="build the image directly from the plan: reproducible layers, only changed blobs pushed",
        description="Build the project's image without a Dockerfile or a daemon and send it to each output.",
    )
    add_target_options(parser)
    parser.add_argument("--base", type=non_empty, help="base image: REF, docker://NAME, oci-layout:DIR, oci-archive:FILE, docker-archive:FILE")
    parser.add_argument(
        "--output", "-o", action="append", default=[], dest="outputs", metavar="SPEC",
        help="oci:DIR, oci-archive:FILE, docker-archive:FILE, registry:REF or docker:REF (repeatable)",
    )
    parser.add_argument("--tag", action="append", default=[], dest="tags", help="name for archive outputs (repeatable)")
    parser.add_argument(
        "--insecure-registry", action="append", default=[], dest="insecure", metavar="HOST:PORT",
        help="reach this registry over plain HTTP (loopback registries always are)",
    )
    parser.add_argument("--cache-dir", type=Path, help="layer and wheel cache (default: ~/.cache/layerplan)")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE", help="image label (repeatable)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the image digest")
    parser.add_argument("--json", action="store_true", help="print the build report as JSON (docs/build.md)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build, then print the summary (table, JSON, or just the digest)."""
    # Imported here: `layerplan plan` must not pay for the HTTP and image stacks.
    from rich.console import Console

    from layerplan.containerize import BuildRequest, build_image, print_report

    labels = dict(label.split("=", 1) for label in args.label if "=" in label)
    request = BuildRequest(
        plan=request_from_args(args, allow_missing_wheels=False),
        base=args.base,
        outputs=tuple(args.outputs),
        tags=tuple(args.tags),
        insecure_registries=tuple(args.insecure),
        cache_dir=args.cache_dir,
        quiet=args.quiet or args.json,
        labels=labels,
    )
    report = build_image(request)
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2)
        print()
    elif args.quiet:
        print(report.image_digest)
    else:
        print_report(report, Console(highlight=False))
    return 0
