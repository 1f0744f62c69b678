"""The ``layerplan`` command's side of the build daemon: hand the command over, relay
signals, return its exit code; or say there is no daemon, and start one after the command.

Imports only the standard library (and ``address``/``wire``): this runs before anything
else on every command with ``LAYERPLAN_DAEMON=1``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

from layerplan.warm.address import Address, UnsafeDirectory, address_for
from layerplan.warm.wire import ProtocolError, Reader, send

TYPE_CHECKING = False  # typing's own flag, without importing typing (the client's start)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import FrameType

__all__ = ["EXIT_LOST", "IDLE_SECONDS", "PRELOAD", "TARGET", "run", "start_server", "wanted"]

TARGET = "layerplan.cli.main:served"
"""What the server's child calls with the command's arguments (``argv[1:]``)."""

IDLE_SECONDS = 3 * 3600.0
"""A server with no command for this long exits (Gradle's daemon: three hours)."""

EXIT_LOST = 1
"""The command's process ended without reporting its exit code (killed, out of memory)."""

PRELOAD = (
    # What `layerplan build` and `layerplan plan` import, measured with `-X importtime`:
    # the parser and commands, the direct build with its registry, install and SBOM stacks,
    # the lock readers, the HTTP stack and rich for the tables.
    "layerplan.cli.parser",
    "layerplan.containerize.pipeline",
    "layerplan.containerize.entry",
    "layerplan.http.watchdog",
    "layerplan.lockfiles._fast",
    "layerplan.lockfiles.uv",
    "layerplan.lockfiles.pylock",
    "layerplan.lockfiles.poetry",
    "layerplan.lockfiles.pdm",
    "layerplan.lockfiles.pipfile",
    "layerplan.lockfiles.requirements",
    "requests",
    "layerplan.registry.auth",
    "layerplan.registry.manifest",
    "layerplan.registry.transport",
    "layerplan.registry.upload",
    "layerplan.registry.mounts",
    "layerplan.registry.referrers",
    "layerplan.install.venv",
    "layerplan.install.wheel",
    "layerplan.install.compiled",
    "layerplan.sbom.attach",
    "layerplan.sbom.metadata",
    "layerplan.sbom.cyclonedx",
    "layerplan.sbom.spdx",
    "layerplan.provenance",
    "packaging.licenses",
    "toml_rs",
    "netrc",
    "rich.console",
    "rich.table",
    "rich.text",
    "rich.progress",
)

_ON = ("1", "true", "yes", "on")
_OFF = ("", "0", "false", "no", "off")
_RELAYED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def wanted(environ: Mapping[str, str], argv: Sequence[str]) -> Address | None:
    """The daemon's address when ``LAYERPLAN_DAEMON`` asks for it and this command may run
    there; ``None`` (with a warning saying why, where the user should know) otherwise."""
    value = environ.get("LAYERPLAN_DAEMON", "").strip().lower()
    if value not in _ON:
        if value not in _OFF:
            _warn(f"LAYERPLAN_DAEMON={environ['LAYERPLAN_DAEMON']!r} is neither 1 nor 0; running without the build daemon")
        return None
    if argv[:1] == ["daemon"]:
        return None  # `layerplan daemon status|stop` talks to the server; it never runs in it
    try:
        return address_for(environ)
    except (UnsafeDirectory, OSError) as exc:
        _warn(f"the build daemon is off: {exc}")
        return None


def _streams_open() -> bool:
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        return False
    return True


def run(address: Address, argv: Sequence[str]) -> int | None:
    """Run the command in the daemon and return its exit code; ``None`` when no server is up
    at ``address`` or it declined (its code changed): then the caller runs the command."""
    if not _streams_open():
        return None  # a closed standard stream cannot be handed over; run here
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(address.socket)
    except OSError:
        sock.close()
        return None
    with sock:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        request = {"cwd": os.getcwd(), "umask": _umask(), "env": dict(os.environ), "argv": list(argv)}
        try:
            send(sock, {"run": request}, [0, 1, 2])
            reader = Reader(sock)
            first = reader.receive()
        except (OSError, ProtocolError):
            return None  # nothing ran: the server went away before forking
        if not first or "pid" not in first:
            return None  # "stale": the server exits; run here, start a fresh one after
        pid = int(first["pid"])
        previous = {signum: signal.signal(signum, _relay_to(pid)) for signum in _RELAYED}
        try:
            return _exit_code(reader, pid)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _relay_to(pid: int) -> Callable[[int, FrameType | None], None]:
    def relay(signum: int, frame: FrameType | None) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    return relay


def _exit_code(reader: Reader, pid: int) -> int:
    while True:
        try:
            message = reader.receive()
        except (OSError, ProtocolError):
            message = None
        if message is None:
            print(
                f"error: the build daemon's process for this command (pid {pid}) ended without an exit code "
                "(killed or out of memory?); run it again, or with LAYERPLAN_DAEMON=0 to run it in its own process",
                file=sys.stderr,
            )
            return EXIT_LOST
        if "exit" in message:
            return int(message["exit"])


def start_server(address: Address) -> None:
    """Start a server at ``address`` in the background, for the next command; it preloads
    and listens on its own (a second one for the same address exits at once)."""
    import subprocess

    settings = {
        "path": [os.path.abspath(entry) for entry in sys.path],
        "key": address.key,
        "directory": str(address.directory),
        "target": TARGET,
        "preload": list(PRELOAD),
        "idle_seconds": IDLE_SECONDS,
    }
    boot = "import json, sys; s = json.loads(sys.argv[1]); sys.path[:] = s['path']; from layerplan.warm.server import boot; boot(s)"
    try:
        # Appended to (a stale server's last words come just before its successor starts),
        # started afresh past a megabyte.
        mode = "ab" if os.path.exists(address.log) and os.path.getsize(address.log) < 1 << 20 else "wb"
        with open(address.log, mode) as log:
            os.chmod(address.log, 0o600)
            subprocess.Popen(
                [sys.executable, "-c", boot, json.dumps(settings)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd="/",
                start_new_session=True,  # not in the terminal's process group: Ctrl-C is the command's
                close_fds=True,
            )
    except OSError as exc:
        _warn(f"could not start the build daemon: {exc}")
