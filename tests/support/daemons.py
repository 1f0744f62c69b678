"""A private build daemon for a test: ``LAYERPLAN_DAEMON=1`` with a runtime directory of
the test's own, the installed ``layerplan`` command, and every server of that directory
stopped afterwards."""

from __future__ import annotations

import json
import os
import signal
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["LAYERPLAN", "alive", "ask", "daemon_env", "run", "servers_in", "started", "status", "stop_servers", "wait_for"]

LAYERPLAN = Path(sys.executable).with_name("layerplan")
"""The installed command, as a user runs it (the console script imports ``cli.main``)."""


def run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LAYERPLAN), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def status(env: dict[str, str]) -> dict[str, Any] | None:
    result = run(["daemon", "status", "--json"], env)
    assert result.returncode == 0, result.stderr
    state: dict[str, Any] | None = json.loads(result.stdout)
    return state


def wait_for(condition: Any, what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def daemon_env() -> Iterator[dict[str, str]]:
    """``LAYERPLAN_DAEMON=1`` with a runtime directory of this test's own (short: a socket's
    path is at most 107 bytes); the server is stopped after the test."""
    runtime = Path(tempfile.mkdtemp(prefix="lpd-"))
    env = {**os.environ, "LAYERPLAN_DAEMON": "1", "XDG_RUNTIME_DIR": str(runtime), "COLUMNS": "200"}
    env.pop("LAYERPLAN_CACHE_DIR", None)
    if "PYTHONPATH" in env:  # relative entries would make another daemon in each directory
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(entry) for entry in env["PYTHONPATH"].split(os.pathsep) if entry)
    try:
        yield env
    finally:
        stop_servers(runtime)
        shutil.rmtree(runtime, ignore_errors=True)


def stop_servers(runtime: Path) -> None:
    """Stop every server (layerplan's daemon, a warm backend) serving from ``runtime``."""
    for pid in servers_in(runtime):
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not alive(pid), "a server to exit")  # noqa: B023


def servers_in(runtime: Path) -> list[int]:
    """Every server serving from ``runtime`` (its start settings name the directory)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            is_server = b"layerplan.warm.server" in command or b"_hook_server.py" in command
            if is_server and str(runtime).encode() in command and alive(int(entry.name)):
                pids.append(int(entry.name))
    return pids


def ask(socket_path: Path, message: dict[str, Any]) -> dict[str, Any] | None:
    """A server's answer to ``message`` (``{"status": {}}``), or ``None`` when none listens."""
    import socket

    from layerplan.warm.wire import Reader, send

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        try:
            sock.connect(str(socket_path))
            send(sock, message)
            return Reader(sock).receive()
        except OSError:
            return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes: its parent (the test runner or init) reaps it
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def started(env: dict[str, str]) -> dict[str, Any]:
    """Run one command (which finds no daemon and starts one) and wait for the daemon."""
    first = run(["--version"], env)
    assert first.returncode == 0, first.stderr
    state: dict[str, Any] = wait_for(lambda: status(env), "the daemon to start")
    return state
