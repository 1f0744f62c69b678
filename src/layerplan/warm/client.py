"""The ``layerplan`` command's side of the build daemon: hand the command over, relay
signals, return its exit code; or say there is no daemon, and start one after the command.

Imports only the standard library (and ``address``/``wire``): this runs before anything
else on every command with ``LAYERPLAN_DAEMON=1``.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from layerplan.warm.address import Address, UnsafeDirectory, address_for, startup_environment
from layerplan.warm.process import WarmProcess, spawn_server

TYPE_CHECKING = False  # typing's own flag, without importing typing (the client's start)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import FrameType

__all__ = ["EXIT_LOST", "IDLE_SECONDS", "PRELOAD", "TARGET", "run", "start_server", "wanted"]

TARGET = "layerplan.cli.main:served_by_daemon"
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
    "layerplan.install.hooks",
    "layerplan.install.warm_backend",
    "layerplan.console",
    "layerplan.progress",
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
    try:
        cwd = os.getcwd()
    except OSError:
        return None  # the working directory was removed: nothing to hand over; run here
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    try:
        process = WarmProcess.start(address, argv, cwd=cwd, env=os.environ, fds=[0, 1, 2])
    except TimeoutError:
        _warn(f"the build daemon at {address.socket} did not answer; running without it")
        return None
    if process is None:
        return None

    def relay(signum: int, frame: FrameType | None) -> None:
        process.send_signal(signum)

    def suspend(signum: int, frame: FrameType | None) -> None:
        # Ctrl-Z stops the terminal's process group, which the command's process (the
        # daemon's) is not in: it stops with this one, and goes on with it.
        process.send_signal(signal.SIGSTOP)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stopped here until SIGCONT (`fg`, `bg`)
        signal.signal(signal.SIGTSTP, suspend)
        process.send_signal(signal.SIGCONT)

    previous = {signum: signal.signal(signum, relay) for signum in _RELAYED}
    previous[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, suspend)
    try:
        code = process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if process.lost:
        print(
            f"error: the build daemon's process for this command (pid {process.pid}) ended without an exit code "
            "(killed or out of memory?); run it again, or with LAYERPLAN_DAEMON=0 to run it in its own process",
            file=sys.stderr,
        )
        return EXIT_LOST
    if code < 0:
        _end_as_signalled(-code)
        return 128 - code  # a signal that does not end a process (there is none that ends a command so)
    return code


def _end_as_signalled(signum: int) -> None:
    """End as the command's process ended, by signal ``signum`` (SIGHUP from a closed
    terminal, SIGKILL from the kernel's OOM killer): the shell, or a caller's ``wait``,
    sees what it sees when the command runs in its own process."""
    import resource

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a core of this process would say nothing
    signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    os.kill(os.getpid(), signum)


def start_server(address: Address) -> None:
    """Start a server at ``address`` in the background, for the next command; it preloads
    and listens on its own (a second one for the same address exits at once)."""
    settings = {
        "path": [os.path.abspath(entry) for entry in sys.path],
        "key": address.key,
        "directory": address.directory,
        "target": TARGET,
        "preload": list(PRELOAD),
        "idle_seconds": IDLE_SECONDS,
    }
    boot = "import json, sys; s = json.loads(sys.argv[1]); sys.path[:] = s['path']; from layerplan.warm.server import boot; boot(s)"
    try:
        spawn_server(address, [sys.executable, "-c", boot, json.dumps(settings)], cwd="/", env=startup_environment(os.environ))
    except OSError as exc:
        _warn(f"could not start the build daemon: {exc}")
