"""``layerplan`` entry point: parse arguments, run a command, turn errors into one line.

Nothing heavy is imported at the top: ``console`` first asks the build daemon (when
``LAYERPLAN_DAEMON=1``) to run the command in its warm process, and only a command run here
imports the parser, the commands and what they need.
"""

from __future__ import annotations

import gc
import os
import signal
import sys

TYPE_CHECKING = False  # typing's own flag, without importing typing (every command's start)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

__all__ = ["console", "main", "served", "served_by_daemon"]

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process it ended


class Terminated(KeyboardInterrupt):
    """SIGTERM (``docker stop``, a cancelled CI job, ``timeout``): a build stops as on Ctrl-C,
    through the same cleanup (a backend started in the background killed, scratch removed),
    where the default action ended the process at once and left them behind."""


_sigterm_received = False


def _terminate(signum: int, frame: object) -> NoReturn:
    # Remembered as well as raised: a library that stops on a signal may turn the exception
    # into its own KeyboardInterrupt (watchfiles, under `layerplan watch`); still 143.
    global _sigterm_received
    _sigterm_received = True
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 user error, 130 interrupted, 143 terminated)."""
    from layerplan.cli.parser import build_parser, chosen_parser
    from layerplan.errors import LayerplanError, disk_full

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # argparse reports these for `layerplan` itself; the flag belongs to the command
        # run, whose --help is the one that lists what it takes.
        chosen_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
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
    except KeyboardInterrupt as exc:
        if isinstance(exc, Terminated) or _sigterm_received:
            print("terminated", file=sys.stderr)
            return EXIT_TERMINATED
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def served(argv: Sequence[str]) -> int:
    """One command in a process of its own (this one, or the build daemon's child for it):
    SIGTERM stops it as Ctrl-C does, then :func:`main`'s code."""
    signal.signal(signal.SIGTERM, _terminate)  # only in the command's own process, not a caller's
    return main(argv)


def served_by_daemon(argv: Sequence[str]) -> int:
    """:func:`served` in a child of the build daemon, which keeps the app backends warm too."""
    _keep_backends_warm()
    return served(argv)


def _keep_backends_warm() -> None:
    from layerplan.install import warm_backend
    from layerplan.warm.address import UnsafeDirectory, runtime_directory

    try:
        warm_backend.keep_warm(runtime_directory(os.environ))
    except (UnsafeDirectory, OSError):
        pass  # the daemon's own check said why, where the user sees it


def console() -> NoReturn:
    """The ``layerplan`` command: :func:`main`, then exit with its code.

    With ``LAYERPLAN_DAEMON=1`` the command runs in the build daemon's warm process when
    one is up for this interpreter and layerplan (docs/build.md, "The build daemon"), here
    otherwise, and then a daemon is started for the next command.

    Before the interpreter exits, every object is moved out of the collector's sight
    (``gc.freeze``): the shutdown's last collection would otherwise scan the ~500 loaded
    modules' objects, 30 ms of a 0.3 s no-change rebuild, to free nothing the process
    needs freed (what a command writes is closed by then; the system closes the rest).
    Only here, in the process that is ending: a caller of :func:`main` keeps its collector.
    """
    argv = sys.argv[1:]
    daemon = None
    if os.environ.get("LAYERPLAN_DAEMON") is not None:
        from layerplan.warm import client

        daemon = client.wanted(os.environ, argv)
        if daemon is not None and (code := client.run(daemon, sys.argv)) is not None:
            sys.exit(code)
    if daemon is not None:  # a daemon is wanted: its first command warms the app backend too
        from layerplan.install import warm_backend

        warm_backend.keep_warm(daemon.directory)
    try:
        code = served(argv)
    finally:  # --help and usage errors end in SystemExit
        if daemon is not None:
            client.start_server(daemon)
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console()
