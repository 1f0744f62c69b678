"""The build daemon (``LAYERPLAN_DAEMON=1``) as a user meets it: real ``layerplan``
commands, a real server process in a private runtime directory.

A command served by the daemon must be indistinguishable from one run in its own process
(same output, exit code, working directory, environment), except that it is faster; a
daemon whose code changed must never run a command; Ctrl-C and a killed client must stop
the command.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from daemons import LAYERPLAN, alive, daemon_env, run, started, status, wait_for  # noqa: F401 - daemon_env: the fixture

from tests.direct_build.helpers import copy_example


def test_a_command_served_by_the_daemon_gives_what_its_own_process_gives(tmp_path: Path, daemon_env: dict[str, str]) -> None:
    project = copy_example(tmp_path / "example")
    state = started(daemon_env)
    assert state["served"] == 0 and state["python"] == sys.executable
    alone = {**daemon_env, "LAYERPLAN_DAEMON": "0"}
    cache = tmp_path / "a cache"

    # the working directory, a relative argument and the environment are the client's
    for args in (["plan", "--python", "3.11", "--json"], ["plan", "--python", "3.10"], ["cache", "info", "--json"], ["plan", "--bogus"]):
        env = {**daemon_env, "LAYERPLAN_CACHE_DIR": str(cache)}
        served = run(args, env, cwd=project)
        own = run(args, {**alone, "LAYERPLAN_CACHE_DIR": str(cache)}, cwd=project)
        assert (served.returncode, served.stdout, served.stderr) == (own.returncode, own.stdout, own.stderr), args
    info = run(["cache", "info", "--json"], {**daemon_env, "LAYERPLAN_CACHE_DIR": str(cache)}, cwd=project)
    assert json.loads(info.stdout)["root"] == str(cache), "the served command read the client's environment"

    after = status(daemon_env)
    assert after is not None and after["pid"] == state["pid"]
    assert after["served"] == 5, "each command ran in the daemon (the plan's error and the usage error too)"
    assert after["running"] == 0


def test_a_daemon_whose_code_changed_never_runs_a_command(tmp_path: Path, daemon_env: dict[str, str]) -> None:
    # A copy of layerplan's sources to edit (PYTHONPATH first, so the command imports it):
    # the daemon started from it must decline once a file of its code changes.
    source = Path(__file__).resolve().parents[2] / "src" / "layerplan"
    copy = tmp_path / "src"
    shutil.copytree(source, copy / "layerplan", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**daemon_env, "PYTHONPATH": os.pathsep.join([str(copy), daemon_env.get("PYTHONPATH", "")])}
    state = started(env)
    assert run(["--version"], env).stdout == "layerplan 0.1.0\n"
    assert status(env)["served"] == 1  # type: ignore[index]

    init = copy / "layerplan" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "0.1.0"', '__version__ = "0.1.0+edited"'))
    assert run(["--version"], env).stdout == "layerplan 0.1.0+edited\n", "the stale daemon ran the command"
    wait_for(lambda: not alive(int(state["pid"])), "the stale daemon to exit")
    fresh = wait_for(lambda: status(env), "a fresh daemon")
    assert fresh["pid"] != state["pid"]
    assert run(["--version"], env).stdout == "layerplan 0.1.0+edited\n"
    assert status(env)["served"] == 1  # type: ignore[index]
    (log,) = (Path(env["XDG_RUNTIME_DIR"]) / "layerplan").glob("*.log")
    assert f"layerplan daemon: exiting, its code changed: {init} changed" in log.read_text()


def _watching(tmp_path: Path, env: dict[str, str], *, own_group: bool = False) -> tuple[subprocess.Popen[bytes], Path]:
    """A `layerplan watch` (it runs until stopped), once its first build failed and it
    waits for a change (in watchfiles, which turns a signal into its own KeyboardInterrupt).
    ``own_group``: in a process group of its own, as a shell runs a job. Its parent (this
    test) is then in another group of the same session, so the group is not orphaned,
    where the kernel would discard a stop signal (a CI runner's pytest is often in one)."""
    project = copy_example(tmp_path / "example")
    log = tmp_path / "watch.log"
    with log.open("wb") as stderr:
        client = subprocess.Popen(
            [str(LAYERPLAN), "watch", "--base", f"oci:{tmp_path / 'no-base'}", "-o", f"oci:{tmp_path / 'out'}"],
            cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=stderr, process_group=0 if own_group else None,
        )  # fmt: skip
    wait_for(lambda: "does not exist" in log.read_text(), "the watch's first build to fail")
    return client, log


@pytest.mark.parametrize("daemon", ["1", "0"])
def test_ctrl_c_and_sigterm_stop_the_command_in_the_daemon_as_in_its_own_process(
    tmp_path: Path, daemon_env: dict[str, str], daemon: str
) -> None:
    env = {**daemon_env, "LAYERPLAN_DAEMON": daemon}
    if daemon == "1":
        started(env)
    for signum, code, said in ((signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")):
        client, log = _watching(tmp_path / signum.name, env)
        if daemon == "1":
            assert status(env)["running"] == 1  # type: ignore[index]
        client.send_signal(signum)
        assert client.wait(timeout=30) == code
        assert log.read_text().splitlines()[-1] == said
        if daemon == "1":
            wait_for(lambda: status(env)["running"] == 0, "the command's process to end")  # type: ignore[index]


def test_a_killed_client_ends_its_command(tmp_path: Path, daemon_env: dict[str, str]) -> None:
    started(daemon_env)
    client, _log = _watching(tmp_path, daemon_env)
    assert status(daemon_env)["running"] == 1  # type: ignore[index]
    client.kill()
    client.wait(timeout=10)
    wait_for(lambda: status(daemon_env)["running"] == 0, "the orphaned command to end", seconds=20)  # type: ignore[index]


def test_a_runtime_directory_others_can_enter_turns_the_daemon_off(tmp_path: Path, daemon_env: dict[str, str]) -> None:
    directory = Path(daemon_env["XDG_RUNTIME_DIR"]) / "layerplan"
    directory.mkdir(mode=0o700)
    directory.chmod(0o777)
    result = run(["--version"], daemon_env)
    assert result.returncode == 0 and result.stdout == "layerplan 0.1.0\n"
    assert "warning: the build daemon is off: " in result.stderr and "not a directory of this user's alone" in result.stderr
    assert not list(directory.iterdir()), "no server was started there"


def test_a_bad_daemon_setting_is_named_and_the_command_runs(daemon_env: dict[str, str]) -> None:
    result = run(["--version"], {**daemon_env, "LAYERPLAN_DAEMON": "maybe"})
    assert result.returncode == 0 and result.stdout == "layerplan 0.1.0\n"
    assert result.stderr == "warning: LAYERPLAN_DAEMON='maybe' is neither 1 nor 0; running without the build daemon\n"
    assert status(daemon_env) is None


def test_a_peer_that_never_answers_does_not_hold_the_command(daemon_env: dict[str, str]) -> None:
    # What listens at the daemon's socket takes the connection and says nothing (a stopped
    # or hung server, another program): the command runs without it, and a daemon that
    # works takes the address over.
    state = started(daemon_env)
    (path,) = (Path(daemon_env["XDG_RUNTIME_DIR"]) / "layerplan").glob("*.sock")
    assert run(["daemon", "stop"], daemon_env).returncode == 0
    wait_for(lambda: not alive(int(state["pid"])), "the daemon to stop")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.bind(str(path))
        silent.listen(4)
        result = run(["--version"], daemon_env)
        assert result.returncode == 0 and result.stdout == "layerplan 0.1.0\n"
        assert result.stderr == f"warning: the build daemon at {path} did not answer; running without it\n"
        fresh = wait_for(lambda: status(daemon_env), "a daemon that answers")
    assert fresh["pid"] != state["pid"]
    assert run(["--version"], daemon_env).stderr == ""


def test_a_daemon_whose_socket_was_removed_makes_way_for_a_new_one(daemon_env: dict[str, str]) -> None:
    # A /tmp cleaner or a user removed the socket: no command can reach that daemon, and its
    # lock would keep another from starting until it had been idle for hours.
    state = started(daemon_env)
    (path,) = (Path(daemon_env["XDG_RUNTIME_DIR"]) / "layerplan").glob("*.sock")
    path.unlink()
    wait_for(lambda: not alive(int(state["pid"])), "the unreachable daemon to exit")
    assert run(["--version"], daemon_env).stdout == "layerplan 0.1.0\n"
    fresh = wait_for(lambda: status(daemon_env), "a new daemon")
    assert fresh["pid"] != state["pid"]
    (log,) = path.parent.glob("*.log")
    assert f"layerplan daemon: exiting, its socket {path} was removed or replaced" in log.read_text()


@pytest.mark.parametrize("daemon", ["1", "0"])
def test_a_command_ended_by_a_signal_ends_layerplan_by_that_signal(tmp_path: Path, daemon_env: dict[str, str], daemon: str) -> None:
    # SIGHUP (the terminal closed) ends the command's process, which does not handle it: the
    # caller sees the signal, not an exit code, with the daemon as without it.
    env = {**daemon_env, "LAYERPLAN_DAEMON": daemon}
    if daemon == "1":
        started(env)
    client, log = _watching(tmp_path, env)
    client.send_signal(signal.SIGHUP)
    assert client.wait(timeout=30) == -signal.SIGHUP
    assert "build daemon" not in log.read_text()
    if daemon == "1":
        wait_for(lambda: status(env)["running"] == 0, "the command's process to end")  # type: ignore[index]


def test_commands_outlive_a_killed_daemon(tmp_path: Path, daemon_env: dict[str, str]) -> None:
    # Two commands at once, then the daemon is killed: the second still runs and ends on
    # Ctrl-C with its own exit code; the first, killed, is reported at once (the second's
    # process does not hold the first's connection open).
    state = started(daemon_env)
    first, _first_log = _watching(tmp_path / "first", daemon_env)
    second, second_log = _watching(tmp_path / "second", daemon_env)
    assert status(daemon_env)["running"] == 2  # type: ignore[index]
    children = Path(f"/proc/{state['pid']}/task/{state['pid']}/children").read_text().split()
    first_command = min(int(pid) for pid in children)
    os.kill(int(state["pid"]), signal.SIGKILL)
    wait_for(lambda: not alive(int(state["pid"])), "the daemon to die")

    os.kill(first_command, signal.SIGKILL)
    assert first.wait(timeout=10) == 1, "nobody is left to say how it ended: the client says so"
    assert second.poll() is None
    second.send_signal(signal.SIGINT)
    assert second.wait(timeout=30) == 130
    assert second_log.read_text().splitlines()[-1] == "interrupted"


def test_a_command_in_a_removed_directory_runs_as_without_the_daemon(tmp_path: Path, daemon_env: dict[str, str]) -> None:
    # The shell's directory was removed under it: nothing to hand over, the command runs here.
    started(daemon_env)
    results = []
    for daemon in ("1", "0"):
        gone = tmp_path / f"gone-{daemon}"
        gone.mkdir()
        env = {**daemon_env, "LAYERPLAN_DAEMON": daemon, "LAYERPLAN_CACHE_DIR": str(tmp_path / "cache")}
        script = f'cd "{gone}" && rmdir "{gone}" && exec "{LAYERPLAN}" cache info --json'
        results.append(subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env, timeout=60))
    served, own = results
    assert own.returncode == 0, own.stderr
    assert (served.returncode, served.stdout, served.stderr) == (own.returncode, own.stdout, own.stderr)


def test_a_runtime_directory_too_long_for_a_socket_is_passed_over(tmp_path: Path, daemon_env: dict[str, str]) -> None:
    # A socket's path is at most 107 bytes: there the daemon could never listen (and every
    # command would start one in vain); the temporary directory serves instead.
    long = tmp_path / ("r" * 100)
    long.mkdir()
    short = Path(daemon_env["XDG_RUNTIME_DIR"]) / "t"
    short.mkdir()
    env = {**daemon_env, "XDG_RUNTIME_DIR": str(long), "TMPDIR": str(short)}
    state = started(env)
    assert run(["--version"], env).stdout == "layerplan 0.1.0\n"
    assert status(env)["served"] == 1  # type: ignore[index]
    assert list((short / f"layerplan-{os.getuid()}").glob("*.sock")), state
    assert not (long / "layerplan").exists()


def test_the_daemon_keeps_no_command_s_secrets(tmp_path: Path, daemon_env: dict[str, str]) -> None:
    # The daemon lives for hours after the command that started it: it must not hold that
    # command's environment (a registry password, a CI token) in its own; each command's
    # process gets its own client's.
    env = {**daemon_env, "LAYERPLAN_TEST_TOKEN": "s3cret-token"}
    state = started(env)
    assert b"s3cret-token" not in Path(f"/proc/{state['pid']}/environ").read_bytes()
    result = run(["cache", "info", "--json"], {**daemon_env, "LAYERPLAN_CACHE_DIR": str(tmp_path / "c")})
    assert json.loads(result.stdout)["root"] == str(tmp_path / "c")


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]


def test_ctrl_z_suspends_the_command_in_the_daemon_too(tmp_path: Path, daemon_env: dict[str, str]) -> None:
    # The terminal's Ctrl-Z stops `layerplan` (its process group); the command's process in
    # the daemon stops with it and goes on with it, as one process would.
    state = started(daemon_env)
    client, log = _watching(tmp_path, daemon_env, own_group=True)
    (command,) = (int(pid) for pid in Path(f"/proc/{state['pid']}/task/{state['pid']}/children").read_text().split())
    client.send_signal(signal.SIGTSTP)
    wait_for(lambda: _state(client.pid) == "T" and _state(command) == "T", "the client and its command to stop")
    client.send_signal(signal.SIGCONT)
    wait_for(lambda: _state(client.pid) != "T" and _state(command) != "T", "the client and its command to go on")
    client.send_signal(signal.SIGINT)
    assert client.wait(timeout=30) == 130
    assert log.read_text().splitlines()[-1] == "interrupted"


def test_a_daemon_of_an_older_protocol_is_asked_to_stop(tmp_path: Path, daemon_env: dict[str, str]) -> None:
    # An upgrade's first command meets the daemon the old layerplan started, which hangs up
    # on a command it does not understand instead of declining it as stale: it is stopped,
    # so the daemon of the new code can start.
    state = started(daemon_env)
    (path,) = (Path(daemon_env["XDG_RUNTIME_DIR"]) / "layerplan").glob("*.sock")
    assert run(["daemon", "stop"], daemon_env).returncode == 0
    wait_for(lambda: not alive(int(state["pid"])), "the daemon to stop")
    heard: list[bytes] = []

    def old_server(listener: socket.socket) -> None:
        for _ in range(2):
            try:
                conn, _address = listener.accept()
            except OSError:
                return
            with conn:
                heard.append(conn.recv(1 << 20).split(b"\n")[0])
                if b'"stop"' in heard[-1]:
                    conn.sendall(b'{"stopping": 1}\n')

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(4)
        listener.settimeout(20)  # a test that fails does not hang on the second accept
        serving = threading.Thread(target=old_server, args=(listener,))
        serving.start()
        result = run(["--version"], daemon_env)
        serving.join(timeout=30)
    assert (result.returncode, result.stdout, result.stderr) == (0, "layerplan 0.1.0\n", "")
    assert json.loads(heard[0])["run"]["argv"][1:] == ["--version"]
    assert json.loads(heard[1]) == {"stop": {}}
    fresh = wait_for(lambda: status(daemon_env), "the new daemon")
    assert fresh["pid"] != state["pid"]


def test_a_command_too_big_for_the_daemon_runs_alone_and_the_daemon_stays(daemon_env: dict[str, str]) -> None:
    # An environment whose message passes the daemon's limit (4 MB of JSON): the daemon
    # says it refuses it (a hang-up would read as a daemon of an older layerplan, and stop it).
    import resource

    state = started(daemon_env)
    huge = {f"LAYERPLAN_TEST_HUGE_{n}": "é" * 50_000 for n in range(14)}  # 1.4 MB as UTF-8, 4.2 MB as JSON

    def room_for_it() -> None:  # the kernel's room for arguments and environment is a quarter of the stack's
        resource.setrlimit(resource.RLIMIT_STACK, (64 << 20, resource.getrlimit(resource.RLIMIT_STACK)[1]))

    result = subprocess.run(
        [str(LAYERPLAN), "--version"], capture_output=True, text=True, env={**daemon_env, **huge}, timeout=60, preexec_fn=room_for_it
    )  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, "layerplan 0.1.0\n", "")
    after = status(daemon_env)
    assert after is not None and after["pid"] == state["pid"] and after["served"] == 0
