"""`layerplan watch` as a developer runs it: on a copy of the example, with the real engine.

One watch session goes through the loop a developer lives in: the first build starts the
container; an edit to the app's source rebuilds the app layer alone and the new container
prints the new text; a broken pyproject.toml prints one `error:` line and the watch goes
on; fixing it gives the same image back (no restart); Ctrl-C exits 130 and removes the
container.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import base_image, docker_client  # noqa: F401 - the fixtures
from tests.cli.watch_session import RESULT, Session
from tests.direct_build.helpers import EXPECTED_OUTPUT, copy_example

pytestmark = pytest.mark.engine

# Generous: the first build of an empty cache downloads the example's wheels (numpy, ...).
FIRST_BUILD_SECONDS = 240
REBUILD_SECONDS = 60


@pytest.fixture
def container_name(docker_client) -> Iterator[str]:  # noqa: F811
    name = f"layerplan-watch-test-{uuid.uuid4().hex[:8]}"
    yield name
    import docker.errors

    try:
        docker_client.containers.get(name).remove(force=True)
    except docker.errors.NotFound:
        pass


def _logs(docker_client, name: str) -> str:  # type: ignore[no-untyped-def]  # noqa: F811
    return str(docker_client.containers.get(name).logs().decode())


def test_watch_rebuilds_on_each_edit_runs_the_new_image_and_survives_a_broken_build(
    tmp_path: Path, base_image: str, docker_client, container_name: str  # noqa: F811
) -> None:
    project = copy_example(tmp_path / "example")
    image = f"layerplan-watch-test:{container_name.rsplit('-', 1)[1]}"
    session = Session(
        [str(project), "--base", base_image, "-o", f"docker-daemon:{image}", "--run-container", container_name,
         "--cache-dir", str(tmp_path / "cache"), "--debounce", "200"],
        cwd=tmp_path,
    )
    try:
        # The first build: every layer, the container started, its line copied to our stdout.
        first = session.next_line("out", RESULT, FIRST_BUILD_SECONDS)
        assert " built " in first and "(environment, " in first and f"loaded as {image}" in first
        assert EXPECTED_OUTPUT in session.next_line("out", rf"^\[{container_name}\] ", REBUILD_SECONDS)
        assert EXPECTED_OUTPUT in _logs(docker_client, container_name)
        first_id = docker_client.containers.get(container_name).id
        session.next_line("err", r"^watching ", REBUILD_SECONDS)

        # An edit to the app's code: the app layer alone is rebuilt, a new container prints the new text.
        source = project / "src" / "layerplan_example" / "cli.py"
        source.write_text(source.read_text().replace("layerplan-example ok:", "layerplan-example watched:"))
        second = session.next_line("out", RESULT, REBUILD_SECONDS)
        assert " built " in second and "1 layer rebuilt (app)" in second
        printed = session.next_line("out", rf"^\[{container_name}\] ", REBUILD_SECONDS)
        assert "layerplan-example watched: numpy=" in printed
        container = docker_client.containers.get(container_name)
        assert container.id != first_id
        assert container.attrs["HostConfig"]["NetworkMode"] == "none"
        assert "layerplan-example watched: " in _logs(docker_client, container_name)

        # A broken pyproject.toml: one error line, and the watch goes on.
        pyproject = project / "pyproject.toml"
        good = pyproject.read_text()
        pyproject.write_text(good.replace('[project]\nname = "layerplan-example"', '[project]\nname = "layerplan-example'))
        error = session.next_line("err", r"^error: ", REBUILD_SECONDS)
        assert "pyproject.toml" in error and not any("Traceback" in line for _, line in session.seen)
        assert session.process.poll() is None

        # Fixed: the same project as before the break gives the same image, so the container stays.
        pyproject.write_text(good)
        again = session.next_line("out", RESULT, REBUILD_SECONDS)
        assert " unchanged " in again
        assert docker_client.containers.get(container_name).id == container.id

        # Ctrl-C: exit 130, the container removed.
        session.process.send_signal(signal.SIGINT)
        assert session.process.wait(REBUILD_SECONDS) == 130
        import docker.errors

        with pytest.raises(docker.errors.NotFound):
            docker_client.containers.get(container_name)
    finally:
        session.stop()
        try:
            docker_client.images.remove(image, force=True)
        except Exception:  # noqa: BLE001 - cleanup of an image the test may not have made
            pass

