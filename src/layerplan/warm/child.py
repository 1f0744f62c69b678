"""The child a warm server forks for one command: it becomes the client's process (its
standard streams, working directory, umask, environment and arguments), answers with its
pid, runs the server's target, and answers with the exit code; a client that goes away
ends it as SIGTERM does. Nothing but imported code is carried over from the server."""

from __future__ import annotations

import atexit
import importlib
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from .learning import Learner
from .wire import send

__all__ = ["Command"]


class Command:
    """The forked child: becomes the client's command, runs it, reports, exits."""

    def __init__(
        self, conn: socket.socket, request: dict[str, Any], fds: list[int], target: str, learner: Learner | None
    ) -> None:
        self.conn = conn
        self.learner = learner
        self.imported = learner.before() if learner is not None else frozenset()
        self.request = request
        self.fds = fds
        self.target = target
        self.done = False

    def run(self) -> None:
        code = 1
        try:
            for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self._become_client()
            try:
                send(self.conn, {"pid": os.getpid()})
            except OSError:
                os._exit(1)  # the client gave up waiting and runs the command itself: not here too
            threading.Thread(target=self._end_with_client, name="daemon-client-watch", daemon=True).start()
            code = self._call_target()
            self._finish()
            if self.learner is not None:
                self.learner.report(self.imported)
        except BaseException:  # noqa: BLE001 - the child must report and exit, whatever happened
            try:
                traceback.print_exc()
            except Exception:  # noqa: BLE001
                pass
        # Done: the client closing the connection after the exit code is no reason to stop.
        self.done = True
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        try:
            send(self.conn, {"exit": code})
        except OSError:
            pass
        os._exit(code)

    def _become_client(self) -> None:
        request = self.request
        for target_fd, fd in enumerate(self.fds):
            os.dup2(fd, target_fd)
            os.close(fd)
        os.chdir(request["cwd"])
        os.umask(int(request["umask"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        if "tempfile" in sys.modules:  # chosen again from this environment's TMPDIR when asked
            setattr(sys.modules["tempfile"], "tempdir", None)  # noqa: B010
        sys.argv = [str(arg) for arg in request["argv"]]
        # New text streams on the client's descriptors, buffered as Python buffers them at
        # start (stdout by line only on a terminal); same encoding, as the key holds the locale.
        sys.stdin = open(0, encoding=sys.stdin.encoding, errors=sys.stdin.errors, closefd=False)  # noqa: SIM115
        sys.stdout = open(  # noqa: SIM115
            1, "w", buffering=1 if os.isatty(1) else -1, encoding=sys.stdout.encoding, errors=sys.stdout.errors, closefd=False
        )
        sys.stderr = open(2, "w", buffering=1, encoding=sys.stderr.encoding, errors=sys.stderr.errors, closefd=False)  # noqa: SIM115
        for name in ("stdin", "stdout", "stderr"):  # what code that wants the "original" streams reads
            setattr(sys, f"__{name}__", getattr(sys, name))

    def _end_with_client(self) -> None:
        try:
            while self.conn.recv(4096):
                pass
        except OSError:
            pass
        if not self.done:
            os.kill(os.getpid(), signal.SIGTERM)

    def _call_target(self) -> int:
        module_name, _, function_name = self.target.partition(":")
        function: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), function_name)
        try:
            return int(function(sys.argv[1:]))
        except SystemExit as exc:  # argparse's --help, --version and usage errors
            if exc.code is None or isinstance(exc.code, int):
                return int(exc.code or 0)
            print(exc.code, file=sys.stderr)
            return 1

    def _finish(self) -> None:
        """What an interpreter's exit does: wait for its threads, run ``atexit``, flush."""
        current = threading.current_thread()
        for thread in threading.enumerate():
            if thread is not current and not thread.daemon:
                thread.join()
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
