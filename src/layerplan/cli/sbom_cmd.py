"""``layerplan sbom``: the bill of materials of the project's plan, as CycloneDX or SPDX JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from layerplan.cli.options import add_base_options, add_target_options, examples, request_from_args
from layerplan.errors import ConfigError

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``sbom`` subcommand."""
    from layerplan.sbom.formats import FORMATS  # a tuple of names: loads no SBOM code

    parser = commands.add_parser(
        "sbom",
        help="print the SBOM (CycloneDX or SPDX JSON) of what the image would install",
        description="The bill of materials of the project's plan: every package the target installs, with its "
        "version, purl, the sha256 of the file the lock pins and the layer it goes in. Without a build there are "
        "no layer digests and no licenses (those are read from the installed wheels): `layerplan build` attaches "
        "the full SBOM to the image it makes. The document says which it describes "
        "(layerplan:described = plan or image).",
        epilog=examples(
            ("layerplan sbom", "CycloneDX 1.6 JSON of the project in this directory"),
            ("layerplan sbom --format spdx -o app.spdx.json", "SPDX 2.3 JSON, written to a file"),
            ("layerplan sbom --base python:3.12-slim", "for the base's target, the base recorded by digest"),
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(parser)
    parser.add_argument("--format", choices=FORMATS, default=FORMATS[0], help=f"document format (default: {FORMATS[0]})")
    parser.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the document here instead of to stdout")
    parser.add_argument(
        "--allow-missing-wheels", action="store_true", help="describe the plan even if a package has no wheel for the target"
    )
    add_base_options(
        parser,
        base_help="read the target from this base image and record it by digest "
        "(default: tool.layerplan.base or the hatch image target's base, when set)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print (or write) the plan's SBOM."""
    from layerplan.console import warn_each
    from layerplan.resolution import plan_build, resolve_build
    from layerplan.sbom.model import describe, render

    if args.output is not None and args.output.is_dir():
        raise ConfigError(f"{args.output} is a directory", key="--output", hint="name the file to write, e.g. -o sbom.cdx.json")
    request = request_from_args(args, allow_missing_wheels=args.allow_missing_wheels)
    with resolve_build(request) as resolved:
        resolved.require_one_platform("`layerplan sbom`")
        plan = plan_build(resolved)
        base = resolved.base
        document = describe(
            plan, epoch=resolved.epoch, base_name=base.name if base else None, base_digest=str(base.image.digest) if base else None
        )
    data = render(document, args.format)
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        from layerplan.cache.atomic import atomic_write
        from layerplan.console import diagnostics

        try:
            with atomic_write(args.output.absolute(), durable=False) as stream:
                stream.write(data)
        except OSError as exc:
            raise ConfigError(
                f"cannot write {args.output}: {exc.strerror or exc}", key="--output", hint="choose a writable path"
            ) from exc
        diagnostics().print(f"{args.format} SBOM of the plan written to {args.output}")
    warn_each(plan.warnings)
    return 0
