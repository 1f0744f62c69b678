"""Running `layerplan dockerfile` in-process, and the engine commands its tests use."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerplan.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-project"
BASIC = ROOT / "tests" / "fixtures" / "locks" / "basic"
UV_SOURCES = ROOT / "tests" / "fixtures" / "locks" / "uv-sources"
SETUPTOOLS_APP = ROOT / "tests" / "fixtures" / "setuptools-app"
SETUPTOOLS_LINE = "setuptools-app ok: idna=3.20 six=1.17.0 encoded=xn--bcher-kva.example"
"""What the setuptools fixture app prints."""
GOLDEN = Path(__file__).resolve().parent / "golden"
EXPECTED_OUTPUT = (
    "layerplan-example ok: numpy=2.4.6 mean=2.5 pydantic=2.14.2 validated=alice "
    "greeting='Hello, alice!' size='1.0 kB'"
)
"""What the example app prints (its README; the direct build's tests expect the same line)."""


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


@contextlib.contextmanager
def _prebuilt_app_wheel(wheel: Path | None) -> Iterator[list[Path]]:
    """While active, ``layerplan dockerfile`` takes ``wheel`` as the project's wheel instead of
    building it (``Request.app_wheel`` of the DockerfileRequest's build, where the hatch front
    end passes hatchling's).
    Yields the list of wheels the emitter was given (to check the substitution happened)."""
    given: list[Path] = []
    if wheel is None:
        yield given
        return
    import layerplan.dockerfile as emitter

    real = emitter.emit_context

    def emit_context(request: Any, *args: Any, **kwargs: Any) -> Any:
        given.append(wheel)
        build = dataclasses.replace(request.build, app_wheel=wheel)
        return real(dataclasses.replace(request, build=build), *args, **kwargs)

    emitter.emit_context = emit_context  # type: ignore[assignment]
    try:
        yield given
    finally:
        emitter.emit_context = real  # type: ignore[assignment]


def run_cli(*argv: str, app_wheel: Path | None = None) -> CliResult:
    """Run `layerplan ARGV` as `cli.main.main` does: one error line and exit 2 for user errors.

    ``app_wheel``: a prebuilt wheel of the project (see the ``*_app_wheel`` fixtures), for
    tests about the context's text and layout rather than about building the wheel; a run
    that succeeds must have used it.
    """
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _prebuilt_app_wheel(app_wheel) as given:
        try:
            code = cli_main.main(list(argv))
        except SystemExit as exit_:  # argparse errors
            code = int(exit_.code or 0)
    if app_wheel is not None and code == 0:
        assert given == [app_wheel], "the prebuilt app wheel did not reach the emitter"
    return CliResult(code, out.getvalue(), err.getvalue())


def copy_example(destination: Path) -> Path:
    shutil.copytree(EXAMPLE, destination, ignore=shutil.ignore_patterns(".venv", "__pycache__", "dist", "*.egg-info"))
    return destination


def docker(*args: str, timeout: int = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The docker CLI (classic builder here: no buildx), output as text."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy(), check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:3])}... exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def docker_build(context: Path, tag: str, *, network: str = "host", extra: Sequence[str] = ()) -> str:
    """`docker build --network NETWORK -t TAG CONTEXT`; its output (the classic builder's steps)."""
    result = docker("build", "--network", network, "-t", tag, *extra, str(context))
    return result.stdout + result.stderr


def step_cache(build_output: str) -> dict[str, bool]:
    """``instruction -> came from the cache`` for each step of a classic `docker build` output."""
    steps: dict[str, bool] = {}
    current: str | None = None
    for line in build_output.splitlines():
        if line.startswith("Step "):
            current = line.split(" : ", 1)[1].strip()
            steps[current] = False
        elif current is not None and line.strip() == "---> Using cache":
            steps[current] = True
    return steps
