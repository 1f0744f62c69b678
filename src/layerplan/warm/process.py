"""A command run by a warm server, seen as a process (``WarmProcess``: ``pid``, ``poll``,
``wait``, ``kill``), and a server started in the background (``spawn_server``).

Both layerplan's own daemon (``client``) and the app backend's warm process
(``install.hooks``) use these: the first hands over the user's terminal, the second a
hook's output files.
"""

from __future__ import annotations

import os
import signal
import socket

from layerplan.warm.address import Address
from layerplan.warm.wire import ProtocolError, Reader, send

TYPE_CHECKING = False  # typing's own flag, without importing typing (the client's start)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["ANSWER_SECONDS", "WarmProcess", "spawn_server"]

ANSWER_SECONDS = 5.0
"""How long a server may take to take a command (it forks at once: milliseconds). Past it,
what listens is not a server that works (stopped, hung, another program): the command runs
without it, rather than wait for ever."""


class WarmProcess:
    """The child a server forked for one command."""

    def __init__(self, sock: socket.socket, reader: Reader, pid: int) -> None:
        self._sock = sock
        self._reader = reader
        self.pid = pid
        self.returncode: int | None = None
        self.lost = False
        """Nobody said how the child ended (its server was gone too when it ended)."""

    @classmethod
    def start(
        cls, address: Address, argv: Sequence[str], *, cwd: str, env: Mapping[str, str], fds: Sequence[int], umask: int | None = None
    ) -> WarmProcess | None:
        """Have the server at ``address`` run ``argv`` with ``fds`` as its standard streams;
        ``None`` when no server is up there or it declined (its code changed): nothing ran.
        Raises ``TimeoutError`` when what listens there did not answer in ``ANSWER_SECONDS``
        (nothing ran: a child forked later finds the connection closed and exits)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(ANSWER_SECONDS)
        try:
            sock.connect(address.socket)
            if umask is None:
                umask = os.umask(0o022)
                os.umask(umask)
            send(sock, {"run": {"cwd": cwd, "umask": umask, "env": dict(env), "argv": list(argv)}})
            reader = Reader(sock)
            ready = reader.receive()
            if ready is None:
                # Hung up without a word: a server of an older layerplan, which wanted the
                # streams with the command and, refusing it, would never exit as stale.
                sock.close()
                _retire(address)
                return None
            if "ready" not in ready:
                sock.close()
                return None  # "stale": that server exits
            send(sock, {"streams": len(fds)}, list(fds))  # only to a server that answered
            first = reader.receive()
        except TimeoutError:
            sock.close()
            raise
        except (OSError, ProtocolError):
            sock.close()
            return None
        sock.settimeout(None)
        if not first or "pid" not in first:
            sock.close()
            return None  # "stale": that server exits
        return cls(sock, reader, int(first["pid"]))

    def poll(self) -> int | None:
        """The exit code if the command ended, else ``None`` (does not wait)."""
        if self.returncode is None:
            self._sock.setblocking(False)
            try:
                self._read_exit()
            except BlockingIOError:
                pass
            finally:
                if self.returncode is None:
                    self._sock.setblocking(True)
        return self.returncode

    def wait(self) -> int:
        """Wait for the command; its exit code, ``-N`` when signal N ended it, as ``Popen``'s
        (``-SIGKILL`` when it was lost: see ``lost``)."""
        while self.returncode is None:
            self._read_exit()
        return self.returncode

    def _read_exit(self) -> None:
        try:
            message = self._reader.receive()
        except BlockingIOError:
            raise
        except (OSError, ProtocolError):
            message = None
        if message is None:
            self.lost = True
            self.returncode = -signal.SIGKILL
        elif "exit" in message:
            self.returncode = int(message["exit"])
        if self.returncode is not None:
            self._sock.close()

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the command (nothing once it ended)."""
        if self.returncode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _retire(address: Address) -> None:
    """Ask the server at ``address`` to stop (a new one starts after the command)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(ANSWER_SECONDS)
        try:
            sock.connect(address.socket)
            send(sock, {"stop": {}})
            Reader(sock).receive()
        except (OSError, ProtocolError):
            pass


def spawn_server(address: Address, command: Sequence[str], *, cwd: str, env: Mapping[str, str] | None = None) -> None:
    """Start ``command`` (a server for ``address``) in the background, in a session of its
    own (the terminal's Ctrl-C is not for it), its standard error appended to the address's
    log (started afresh past a megabyte). Raises ``OSError`` when it cannot be started."""
    import subprocess

    mode = "ab" if os.path.exists(address.log) and os.path.getsize(address.log) < 1 << 20 else "wb"
    with open(address.log, mode) as log:
        os.chmod(address.log, 0o600)
        subprocess.Popen(
            list(command), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, cwd=cwd,
            env=None if env is None else dict(env), start_new_session=True, close_fds=True,
        )  # fmt: skip
