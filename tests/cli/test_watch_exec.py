"""`layerplan watch` without an engine: `--exec` on the synthetic base with an OCI layout
output, and the mistakes that stop a watch before it builds.

The command runs after each build with the new image's digest in its environment; an
OCI layout written inside the project starts no build of its own.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from synthbase import SyntheticBase, synthetic_base  # noqa: F401 - the fixture

from tests.cli.watch_session import RESULT, Session, env
from tests.direct_build.helpers import copy_example

FIRST_BUILD_SECONDS = 240
REBUILD_SECONDS = 60


def test_exec_runs_after_each_build_with_the_new_digest(tmp_path: Path, synthetic_base: SyntheticBase) -> None:  # noqa: F811
    project = copy_example(tmp_path / "example")
    digests = tmp_path / "digests.txt"
    session = Session(
        [str(project), "--base", synthetic_base.specs["oci"], "-o", f"oci:{project / 'image'}",
         "--cache-dir", str(tmp_path / "cache"), "--debounce", "100",
         "--exec", f'echo "$LAYERPLAN_IMAGE_DIGEST $LAYERPLAN_IMAGE" >> {digests}; echo ran-exec'],
        cwd=tmp_path,
    )
    try:
        first = session.next_line("out", RESULT, FIRST_BUILD_SECONDS)
        session.next_line("out", "^ran-exec$", REBUILD_SECONDS)
        (digest, image), = [line.split() for line in digests.read_text().splitlines()]
        assert digest.startswith("sha256:") and digest[7:19] in first
        assert image == str(project / "image")
        # The image is in the project: writing it started no second build (its "changed:" line
        # would come before the next one, which the edit below makes).
        source = project / "src" / "layerplan_example" / "cli.py"
        source.write_text(source.read_text().replace("layerplan-example ok:", "layerplan-example exec:"))
        assert session.next_line("err", "^changed: ", REBUILD_SECONDS).endswith("cli.py")
        second = session.next_line("out", RESULT, REBUILD_SECONDS)
        assert " built " in second and "1 layer rebuilt (app)" in second
        session.next_line("out", "^ran-exec$", REBUILD_SECONDS)
        new_digest = digests.read_text().splitlines()[1].split()[0]
        assert new_digest != digest and new_digest[7:19] in second
        session.process.send_signal(signal.SIGINT)
        assert session.process.wait(REBUILD_SECONDS) == 130
    finally:
        session.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/missing", "-o", "docker-daemon:app:dev"], "project path does not exist"),
        (["{example}", "-o", "oci:{tmp}/out", "--run-container", "app"], "`--run-container`: --run-container runs the image in the Docker engine, and no output loads it there (hint: add -o docker-daemon:NAME:TAG)"),
        (["{example}", "--package", "a", "--package", "b"], "`--package`: 2 --package options"),
        (["{example}", "--debounce", "soon"], "'soon' is not a whole number of milliseconds"),
        (["{example}", "--run-container", "app", "--exec", "true"], "not allowed with argument"),
    ],
)
def test_mistakes_stop_the_watch_before_any_build(tmp_path: Path, args: list[str], message: str) -> None:
    example = copy_example(tmp_path / "example")
    result = subprocess.run(
        [sys.executable, "-m", "layerplan", "watch", *(a.format(tmp=tmp_path, example=example) for a in args)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env(),
    )
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and message in line
