"""The ``layerplan`` argument parser: every subcommand, and usage errors as one line."""

from __future__ import annotations

import argparse
from typing import NoReturn

from layerplan import __version__
from layerplan.cli import build_cmd, cache_cmd, daemon_cmd, dockerfile_cmd, plan_cmd, sbom_cmd, watch_cmd

__all__ = ["EXIT_USER_ERROR", "build_parser", "chosen_parser"]

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other error (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"error: {self.prog}: {message} (hint: `{self.prog} --help` lists the options)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(
        prog="layerplan",
        description="Plan and build layered container images for Python projects from their lockfile.",
    )
    parser.add_argument("--version", action="version", version=f"layerplan {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    plan_cmd.register(commands)
    build_cmd.register(commands)
    watch_cmd.register(commands)
    dockerfile_cmd.register(commands)
    sbom_cmd.register(commands)
    cache_cmd.register(commands)
    daemon_cmd.register(commands)
    return parser


def chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the (sub)command ``args`` chose: ``layerplan cache prune``'s for that."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            if chosen is not None:
                return chosen_parser(chosen, args)
    return parser
