"""``layerplan daemon``: whether the build daemon of this Python is up, and stopping it.

The daemon itself is asked for with ``LAYERPLAN_DAEMON=1`` (docs/build.md, "The build
daemon"); it starts after the first command that finds none and exits after three idle hours.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import time
from typing import Any

from layerplan.errors import ConfigError

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``daemon`` subcommand with ``status`` and ``stop``."""
    parser = commands.add_parser("daemon", help="show or stop the build daemon (a warm process, with LAYERPLAN_DAEMON=1)")
    actions = parser.add_subparsers(dest="daemon_action", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="whether a build daemon is up for this Python and layerplan, and since when")
    status.add_argument("--json", action="store_true", help="print the daemon's state as JSON (null when none is up)")
    status.set_defaults(handler=run_status)
    stop = actions.add_parser("stop", help="stop the build daemon of this Python and layerplan (commands running finish)")
    stop.set_defaults(handler=run_stop)


def _ask(message: dict[str, Any]) -> dict[str, Any] | None:
    """The server's answer, or ``None`` when none listens at this Python's address."""
    from layerplan.warm.address import UnsafeDirectory, address_for
    from layerplan.warm.wire import ProtocolError, Reader, send

    try:
        address = address_for(os.environ)
    except (UnsafeDirectory, OSError) as exc:
        raise ConfigError(f"the build daemon's directory cannot be used: {exc}") from None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        try:
            sock.connect(address.socket)
            send(sock, message)
            return Reader(sock).receive()
        except (OSError, ProtocolError):
            return None


def run_status(args: argparse.Namespace) -> int:
    answer = _ask({"status": {}})
    state = answer.get("status") if answer else None
    if args.json:
        print(json.dumps(state, indent=2))
    elif state is None:
        print("no build daemon is up for this Python and layerplan (LAYERPLAN_DAEMON=1 starts one after a command)")
    else:
        up = time.time() - float(state["started"])
        print(
            f"build daemon pid {state['pid']}, up {up:.0f} s, {state['served']} command(s) served, "
            f"{state['running']} running, {state['modules']} modules loaded ({state['python']})"
        )
    return 0


def run_stop(args: argparse.Namespace) -> int:
    answer = _ask({"stop": {}})
    if answer and "stopping" in answer:
        print(f"stopped the build daemon (pid {answer['stopping']})")
    else:
        print("no build daemon was up for this Python and layerplan")
    return 0
