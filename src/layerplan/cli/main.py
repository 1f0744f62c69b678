"""``layerplan`` entry point: parse arguments, run a command, turn errors into one line."""

from __future__ import annotations

import argparse
import gc
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

from layerplan import __version__
from layerplan.cli import build_cmd, cache_cmd, dockerfile_cmd, plan_cmd, sbom_cmd, watch_cmd
from layerplan.errors import LayerplanError, disk_full

__all__ = ["console", "main"]

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process it ended


class Terminated(KeyboardInterrupt):
    """SIGTERM (``docker stop``, a cancelled CI job, ``timeout``): a build stops as on Ctrl-C,
    through the same cleanup (a backend started in the background killed, scratch removed),
    where the default action ended the process at once and left them behind."""


def _terminate(signum: int, frame: object) -> NoReturn:
    raise Terminated


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
    return parser


def _chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the (sub)command ``args`` chose: ``layerplan cache prune``'s for that."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            if chosen is not None:
                return _chosen_parser(chosen, args)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 user error, 130 interrupted, 143 terminated)."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # argparse reports these for `layerplan` itself; the flag belongs to the command
        # run, whose --help is the one that lists what it takes.
        _chosen_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.handler(args) or 0)
    except LayerplanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:
        return 0
    except OSError as exc:
        # A full disk is the user's to fix wherever it struck (cache, scratch, output);
        # the writers that know what they were writing say so, this catches the rest.
        if (full := disk_full(exc)) is None:
            raise
        print(f"error: {full}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Terminated:
        print("terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def console() -> NoReturn:
    """The ``layerplan`` command: :func:`main`, then exit with its code.

    Before the interpreter exits, every object is moved out of the collector's sight
    (``gc.freeze``): the shutdown's last collection would otherwise scan the ~500 loaded
    modules' objects, 30 ms of a 0.3 s no-change rebuild, to free nothing the process
    needs freed (what a command writes is closed by then; the system closes the rest).
    Only here, in the process that is ending: a caller of :func:`main` keeps its collector.
    """
    signal.signal(signal.SIGTERM, _terminate)  # only in the command's own process, not a caller's
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console()
