"""Options shared by every command that resolves a build: project, lock, target, base.

Kept apart from ``plan_cmd`` so ``build`` and ``dockerfile`` load no table rendering.
The flags become the command line's ``OptionLayer``: the resolution step merges it
with the project's tables, validates it with the same checks, and decides the rest.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layerplan.errors import ConfigError

if TYPE_CHECKING:
    from layerplan.resolution import Request

__all__ = [
    "add_base_options", "add_image_options", "add_target_options", "add_verbose_option", "examples", "non_empty",
    "request_from_args",
]

# option (PlanConfig field) -> (flag, argparse dest)
_FLAGS = {
    "lock": ("--lock", "lock"),
    "python": ("--python", "python"),
    "platform": ("--platform", "platform"),
    "libc": ("--libc", "libc"),
    "package": ("--package", "package"),  # one member per request: see packages_of
    "extras": ("--extra", "extras"),
    "dependency_groups": ("--group", "groups"),
    "base": ("--base", "base"),
    "outputs": ("--output", "outputs"),
    "tags": ("--tag", "tags"),
    "insecure_registries": ("--insecure-registry", "insecure"),
    "labels": ("--label", "labels"),
    "builder": ("--builder", "builder"),
    "cache_from": ("--cache-from", "cache_from"),
    "sbom": ("--no-sbom", "sbom"),
    "provenance": ("--no-provenance", "provenance"),
    "created": ("--created", "created"),
    "digest_file": ("--digest-file", "digest_file"),
}


def non_empty(value: str) -> str:
    """argparse type: an empty value (``--platform ''``) is an error, not "unset"."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def label(value: str) -> tuple[str, str]:
    """argparse type: ``KEY=VALUE``."""
    key, sep, text = value.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{value!r} is not KEY=VALUE")
    return key, text


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that plans: project, lock and target."""
    parser.add_argument("project", nargs="?", default=".", type=Path, help="project directory (default: .)")
    parser.add_argument("--lock", type=non_empty, help="lockfile to read (default: auto-detect)")
    parser.add_argument("--python", type=non_empty, help="target Python X.Y (default: the base image's, else 3.12)")
    parser.add_argument(
        "--platform", type=non_empty, help="target OS/ARCH: linux/amd64 or linux/arm64 (default: the base image's, else linux/amd64)"
    )
    parser.add_argument(
        "--libc", type=non_empty, help="target C library: glibc-X.Y or musl-X.Y (default: the base image's, else glibc-2.36)"
    )
    parser.add_argument(
        "--package", action="append", default=[], type=non_empty, dest="packages",
        help="workspace member to plan or build (uv workspaces; `build` takes several)",
    )
    parser.add_argument("--extra", action="append", default=[], dest="extras", help="install this extra (repeatable)")
    parser.add_argument(
        "--group", action="append", default=[], dest="groups", help="install this dependency group (repeatable)"
    )
    parser.add_argument(
        "--no-index",
        action="store_true",
        help="never ask the package index for wheel sizes the lock lacks (poetry, pdm, Pipfile, requirements)",
    )
    parser.add_argument("--cache-dir", type=Path, help="layerplan's cache (default: ~/.cache/layerplan)")


def add_verbose_option(parser: argparse.ArgumentParser) -> None:
    """``-v``: the progress on stderr adds every step and its timings (docs/cli.md, Output)."""
    parser.add_argument(
        "--verbose", "-v", action="store_true",
        help="show every step of the progress on stderr, with timings (-q and --json show none)",
    )


def add_base_options(parser: argparse.ArgumentParser, *, base_help: str) -> None:
    """The base image, and how to reach registries."""
    parser.add_argument("--base", type=non_empty, help=base_help)
    parser.add_argument(
        "--insecure-registry", action="append", default=[], dest="insecure", metavar="HOST:PORT",
        help="reach this registry over plain HTTP (loopback registries always are)",
    )


def add_image_options(parser: argparse.ArgumentParser) -> None:
    """What a direct build makes and where it goes: the base, the outputs, tags, labels and
    the sdist builder, the registry layer cache (``build`` and ``watch``)."""
    add_base_options(
        parser,
        base_help="base image, spelled as in skopeo: REF or docker://REF (a registry), docker-daemon:NAME, "
        "oci:DIR[:REF], oci-archive:FILE, docker-archive:FILE (default: tool.layerplan.base); "
        "the target is read from it",
    )
    parser.add_argument(
        "--output", "-o", action="append", default=[], dest="outputs", metavar="SPEC",
        help="docker://REF (push), docker-daemon:REF (load), oci:DIR, oci-archive:FILE or docker-archive:FILE (repeatable)",
    )
    parser.add_argument(
        "--tag", action="append", default=[], dest="tags",
        help="name for archive outputs (repeatable; default NAME:VERSION); one in a registry output's repository "
        "is pushed there too",
    )
    parser.add_argument("--label", action="append", default=[], type=label, metavar="KEY=VALUE", help="image label (repeatable)")
    parser.add_argument(
        "--builder", type=non_empty, metavar="IMAGE",
        help="image to compile sdists that need a compiler in, through the Docker engine (default: the base image)",
    )
    parser.add_argument(
        "--cache-from", action="append", default=[], dest="cache_from", metavar="REF",
        help="reuse this image's layers whose keys match instead of building them (repeatable; "
        "default: each registry output's previous image)",
    )
    parser.add_argument(
        "--no-sbom", action="store_const", const=False, default=None, dest="sbom",
        help="attach no SBOM to the image (default: CycloneDX and SPDX, as OCI referrers; tool.layerplan.sbom)",
    )
    parser.add_argument(
        "--no-provenance", action="store_const", const=False, default=None, dest="provenance",
        help="attach no SLSA provenance to the image (default: an in-toto statement, as an OCI referrer; "
        "tool.layerplan.provenance)",
    )
    parser.add_argument(
        "--created", type=non_empty, metavar="TIME",
        help="the image's created time: RFC 3339 (2024-05-01T12:00:00Z), seconds, or now (default: "
        "SOURCE_DATE_EPOCH, else the commit time of git's HEAD, else 1980-01-01); changes the config only",
    )
    parser.add_argument(
        "--digest-file", metavar="FILE",
        help="after the build, write REF@sha256:... of each pushed image to FILE, one a line (for cosign sign)",
    )


def request_from_args(args: argparse.Namespace, *, package: str | None = None, **fields: Any) -> Request:
    """The resolution ``Request`` of a command's parsed arguments for one workspace member
    (``package``; default: the only ``--package``, if any); ``fields`` add to it."""
    # Loaded here, not with the parsers: `--help`, `--version` and `cache` need no resolution.
    from layerplan.resolution import Request, command_line_layer

    if package is None and len(getattr(args, "packages", [])) > 1:
        raise ConfigError(
            f"{len(args.packages)} --package options: this command plans one member at a time",
            key="--package",
            hint="`layerplan build` builds several; here, run the command once per member",
        )
    args.package = package or (args.packages[0] if getattr(args, "packages", None) else None)
    flags: dict[str, tuple[str, Any]] = {}
    for option, (flag, dest) in _FLAGS.items():
        value = getattr(args, dest, None)
        if option == "labels" and value:
            value = dict(value)
        flags[option] = (flag, tuple(value) if isinstance(value, list) else value)
    return Request(
        project=args.project,
        options=command_line_layer(flags),
        cache_dir=getattr(args, "cache_dir", None),
        index_sizes=not args.no_index,
        **fields,
    )


def examples(*pairs: tuple[str, str]) -> str:
    """An ``Examples:`` block for the end of a command's ``--help``: each command, then
    what it does (argparse prints the epilog as written with RawDescriptionHelpFormatter)."""
    return "examples:\n" + "\n".join(f"  {command}\n      {what}" for command, what in pairs)
