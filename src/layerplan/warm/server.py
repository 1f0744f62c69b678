"""The build daemon's server: import the build once, then fork a child per command.

Started in the background by the ``layerplan`` command (``client.start_server``), in a
session of its own, with the client's ``sys.path``. It takes the address's lock (a second
server for the same address exits at once), imports ``preload``, listens, and for each
command checks that none of the files of its loaded code changed since (else it answers
``stale`` and exits: the client runs the command itself and starts a fresh server), then
forks. The child becomes the command's process: the client's standard streams, working
directory, umask, environment and arguments; it answers with its pid (the client forwards
signals to it), runs ``target``, and answers with the exit code. A client that goes away
(killed, its terminal closed) ends its child as SIGTERM does. The server exits after
``idle_seconds`` without a command and with no child left, or on ``stop``.

Forking keeps each command a process of its own: a command cannot leave state for the next
(module globals, caches, threads, signal handlers, the working directory), which is what a
long-lived in-process server would have to get right forever.
"""

from __future__ import annotations

import errno
import fcntl
import importlib
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

# Relative: the backend's server (install/_hook_server.py) loads this package under a
# private name in a build environment, where there is no `layerplan` to import.
from .address import Address
from .child import Command
from .learning import Learner
from .wire import ProtocolError, Reader, send

__all__ = ["Server", "boot"]

_ACCEPT_TICK = 5.0
"""How often an idle server looks at its idle time and its socket's file (a stat: nothing)."""
_RECEIVE_SECONDS = 10.0


def _code_files() -> dict[str, tuple[int, int]]:
    """(mtime, size) of the file of every loaded module: what ``stale`` compares."""
    files: dict[str, tuple[int, int]] = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path not in files:
            try:
                info = os.stat(path)
            except OSError:
                continue
            files[path] = (info.st_mtime_ns, info.st_size)
    return files


def _same_file(path: str, inode: int) -> bool:
    try:
        return os.lstat(path).st_ino == inode
    except OSError:
        return False


def _peer_uid(conn: socket.socket) -> int | None:
    """The connecting process's uid, where the system says (Linux); else ``None``."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    return int(uid)


def _receive(conn: socket.socket, reader: Reader) -> dict[str, Any] | None:
    """The client's next message; ``None`` if it has none within ``_RECEIVE_SECONDS`` (a
    client that says nothing does not hold the server up) or sends something else."""
    conn.settimeout(_RECEIVE_SECONDS)
    try:
        return reader.receive()
    except (ProtocolError, OSError):
        return None
    finally:
        conn.settimeout(None)


class Server:
    """One warm process at one :class:`Address`."""

    def __init__(self, address: Address, target: str, idle_seconds: float, *, learn: bool = False) -> None:
        """``learn``: import what the children imported (``learning``). Only for a server whose
        children all run with its own environment (a backend's: the environment is in its
        key): a module that reads the environment as it is imported would otherwise keep the
        first command's values for every later one."""
        self.address = address
        self.target = target
        self.idle_seconds = idle_seconds
        self.started = time.time()
        self.served = 0
        self.children: dict[int, socket.socket] = {}
        """Each command's process, with the server's end of its client's connection: the
        server says how the process ended when it ends without saying so itself (a backend's
        ``os._exit(0)``, a signal), as a parent's ``wait`` would."""
        self.code: dict[str, tuple[int, int]] = {}
        self.learner = Learner() if learn else None

    def stale(self) -> str | None:
        """Which loaded file changed since the server started, if one did."""
        for path, seen in self.code.items():
            try:
                info = os.stat(path)
            except OSError:
                return f"{path} is gone"
            if (info.st_mtime_ns, info.st_size) != seen:
                return f"{path} changed"
        return None

    def serve(self, prepare: Callable[[], object]) -> None:
        """Lock, ``prepare`` (import what the commands need), listen and serve until idle or stopped."""
        lock = os.open(self.address.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return  # another server is up (or starting) at this address
            raise
        try:
            prepare()
            if threading.active_count() != 1:
                # Forking a process with threads copies their locks held; never do it.
                print(f"layerplan daemon: preloading started threads {threading.enumerate()}; not serving", file=sys.stderr)
                return
            # No gc.freeze() here, though it would spare the children's collections the
            # preloaded objects: a build runs with the collector off, and counting frozen
            # objects (``gc.get_freeze_count``, which ``_toml.bulk`` asks) walks them all.
            self.code = _code_files()
            self._listen_and_serve()
        finally:
            os.close(lock)

    def _listen_and_serve(self) -> None:
        path = self.address.socket
        try:
            os.unlink(path)  # a dead server's: the lock says none is alive
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # the socket is created 0600: only this user connects
        try:
            listener.bind(path)
        finally:
            os.umask(old_umask)
        inode = os.stat(path).st_ino
        listener.listen(16)
        signal.signal(signal.SIGCHLD, lambda signum, frame: self._reap())
        last = time.monotonic()
        try:
            while True:
                watched = [listener.fileno(), *([self.learner.read_fd] if self.learner else [])]
                ready, _, _ = select.select(watched, [], [], _ACCEPT_TICK)
                if self.learner is not None and self.learner.read_fd in ready:
                    if self.learner.learn():
                        if threading.active_count() != 1:
                            print(f"layerplan daemon: exiting, an import started threads {threading.enumerate()}", file=sys.stderr)
                            return
                        self.code = _code_files()
                    continue
                if listener.fileno() not in ready:
                    if not _same_file(path, inode):
                        # Removed (a /tmp cleaner, a user) or replaced: no client finds this
                        # server, whose lock would keep a new one from starting for hours.
                        print(f"layerplan daemon: exiting, its socket {path} was removed or replaced", file=sys.stderr)
                        return
                    self._reap()
                    if not self.children and time.monotonic() - last > self.idle_seconds:
                        return
                    continue
                conn, _ = listener.accept()
                last = time.monotonic()
                with conn:
                    if not self._handle(conn, listener):
                        return
        finally:
            listener.close()
            if _same_file(path, inode):
                try:
                    os.unlink(path)
                except OSError:
                    pass

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                for gone in self.children.values():
                    gone.close()
                self.children.clear()
                return
            if pid == 0:
                return
            if (conn := self.children.pop(pid, None)) is not None:
                # Never blocks (the flag, not the socket's mode, which the child shares); after
                # the process's own "exit" this one is not read.
                message = json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n"
                try:
                    conn.send(message, socket.MSG_DONTWAIT)
                except OSError:
                    pass
                conn.close()

    def _handle(self, conn: socket.socket, listener: socket.socket) -> bool:
        """Serve one connection; ``False`` when the server is to exit."""
        uid = _peer_uid(conn)
        if uid is not None and uid != os.getuid():
            return True
        reader = Reader(conn)
        message = _receive(conn, reader)
        if not message:
            for fd in reader.fds:
                os.close(fd)
            try:  # a word, where there is a client to hear it: a hang-up means an older server
                send(conn, {"refused": "not a message this server reads (too long?)"})
            except OSError:
                pass
            return True
        if "status" in message:
            send(conn, {"status": self._status()})
            return True
        if "stop" in message:
            send(conn, {"stopping": os.getpid()})
            return False
        request = message.get("run")
        if not isinstance(request, dict):
            for fd in reader.fds:
                os.close(fd)
            return True
        if (reason := self.stale()) is not None:
            print(f"layerplan daemon: exiting, its code changed: {reason}", file=sys.stderr)
            send(conn, {"stale": reason})
            for fd in reader.fds:
                os.close(fd)
            return False
        # Only now the client's streams: what it sends them to has answered, so a peer that
        # never does (hung, another program) cannot hold the client's pipes open.
        send(conn, {"ready": os.getpid()})
        if not _receive(conn, reader) or len(reader.fds) != 3:
            for fd in reader.fds:
                os.close(fd)
            return True
        # SIGCHLD held until the child is counted: one that ends at once is then reaped after.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        pid = os.fork()
        if pid == 0:  # the command's process: it never returns into the server's loop
            try:
                for other in self.children.values():  # another command's: its client waits for its end
                    other.close()
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
                listener.close()
                if self.learner is not None:
                    self.learner.close_in_child()
                Command(conn, request, reader.fds, self.target, self.learner).run()
            finally:
                os._exit(1)
        self.children[pid] = conn.dup()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        self.served += 1
        for fd in reader.fds:
            os.close(fd)
        return True

    def _status(self) -> dict[str, Any]:
        self._reap()
        return {
            "pid": os.getpid(),
            "key": self.address.key,
            "python": sys.executable,
            "started": self.started,
            "served": self.served,
            "running": len(self.children),
            "idle_seconds": self.idle_seconds,
            "modules": len(sys.modules),
        }


def boot(settings: dict[str, Any]) -> None:
    """The server process's entry (``client.start_server``'s ``python -c``, which set
    ``sys.path`` to the client's before importing this module)."""
    address = Address(key=settings["key"], directory=settings["directory"])

    def preload() -> None:
        for name in settings["preload"]:
            importlib.import_module(name)

    Server(address, target=settings["target"], idle_seconds=float(settings["idle_seconds"])).serve(preload)
