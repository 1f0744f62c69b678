"""What ``layerplan watch`` does with each new image: restart a container, or run a command.

Either one is restarted, not stacked: the container of the previous image is removed
before the new one starts (``docker rm -f NAME; docker run -d --name NAME``), and a
command still running from the previous build is stopped (SIGTERM, then SIGKILL) before
it runs again, as watchexec's restart mode does. The container runs with no network
unless ``--network`` says otherwise: a dev loop should not open ports by surprise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

from layerplan.transports.errors import DaemonError

if TYPE_CHECKING:
    from layerplan.containerize.report import BuildReport

__all__ = ["CommandRunner", "ContainerRunner"]

_STOP_SECONDS = 5


class ContainerRunner:
    """(Re)starts container ``name`` from each new image and copies its output to stdout,
    each line prefixed with ``[name]``. ``close()`` removes it (as ``skaffold dev`` cleans
    up what it deployed)."""

    def __init__(self, name: str, *, network: str = "none") -> None:
        self.name = name
        self.network = network
        self._client: Any = None

    def start(self, image: str) -> None:
        """Replace the container with one of ``image`` (a name the engine has); raise
        ``DaemonError`` when the engine refuses."""
        import docker.errors  # type: ignore[import-untyped]

        try:
            self._remove()
            container = self._engine().containers.run(image, name=self.name, detach=True, network_mode=self.network)
        except docker.errors.DockerException as exc:
            raise DaemonError(
                f"cannot start container {self.name} from {image}: {_first_line(exc)}",
                hint="check the image runs: docker run --rm --network none " + image,
            ) from None
        threading.Thread(target=self._copy_logs, args=(container,), daemon=True, name=f"logs-{self.name}").start()

    def close(self) -> None:
        """Remove the container, if it was started; an engine that is gone is no error here."""
        if self._client is None:
            return
        import docker.errors

        try:
            self._remove()
        except docker.errors.DockerException:
            pass

    def _remove(self) -> None:
        import docker.errors

        try:
            self._engine().containers.get(self.name).remove(force=True)
        except docker.errors.NotFound:
            pass

    def _engine(self) -> Any:
        if self._client is None:
            import docker

            try:
                self._client = docker.from_env()
            except docker.errors.DockerException as exc:
                raise DaemonError(f"cannot reach the Docker engine: {_first_line(exc)}",
                                  hint="start the Docker engine, or set DOCKER_HOST to its socket") from None
        return self._client

    def _copy_logs(self, container: Any) -> None:
        """Follow the container's output until it ends (it exits, or the next build removes it)."""
        import docker.errors

        pending = b""
        try:
            for chunk in container.logs(stream=True, follow=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._print(line)
        except docker.errors.DockerException:
            pass  # removed under us by the next build
        if pending:
            self._print(pending)

    def _print(self, line: bytes) -> None:
        print(f"[{self.name}] {line.decode(errors='replace').rstrip()}", flush=True)


class CommandRunner:
    """Runs ``command`` through the shell after each build, with ``LAYERPLAN_IMAGE_DIGEST``
    (and ``LAYERPLAN_IMAGE``, the first output's name) in its environment; output goes
    where the watch's goes."""

    def __init__(self, command: str) -> None:
        self.command = command
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, report: BuildReport) -> None:
        """Stop the previous run if it is still going, then start the command again."""
        self.close()
        env = {**os.environ, "LAYERPLAN_IMAGE_DIGEST": report.image_digest}
        if report.outputs:
            env["LAYERPLAN_IMAGE"] = report.outputs[0].location
        sys.stdout.flush()
        self._process = subprocess.Popen(self.command, shell=True, env=env, start_new_session=True)  # noqa: S602 - the user's command line

    def close(self) -> None:
        """Stop the command (its whole process group) if it is still running."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, 15)
            process.wait(_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
        except ProcessLookupError:
            pass


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
