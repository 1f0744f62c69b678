"""The emitted context, built by real builders: docker's classic builder and buildah.

One module-scoped build of the example project is shared by the tests below; the
rebuild after a code change, the .dockerignore probe and the offline build reuse its
cache, so the file stays well under three minutes. The module's build and the code
change build the app wheel for real; the offline and buildah contexts take the session's
(``example_app_wheel``): they test the builders, not the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from engine import SCRIPT, unavailable

from tests.dockerfile.helpers import (
    EXPECTED_OUTPUT,
    SETUPTOOLS_APP,
    SETUPTOOLS_LINE,
    copy_example,
    docker,
    docker_build,
    run_cli,
    step_cache,
)

pytestmark = pytest.mark.engine

TAG = f"layerplan-test/dockerfile-example:{os.getpid()}"


@dataclass(frozen=True)
class Built:
    base: str
    project: Path
    context: Path
    tag: str
    output: str
    seconds: float


@pytest.fixture(scope="module", autouse=True)
def _engine(docker_client: object) -> None:
    """Every test here needs the engine and the docker CLI: skip (or, in CI, fail) without them."""
    if shutil.which("docker") is None:
        unavailable("the docker CLI is not installed")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dockerfile-engine")


@pytest.fixture(scope="module")
def tags() -> Iterator[list[str]]:
    """Image tags the tests made; removed at the end (their cache goes with them)."""
    made: list[str] = []
    yield made
    if made:
        docker("rmi", "-f", *made, check=False)


def emit(project: Path, out: Path, *args: str, app_wheel: Path | None = None) -> None:
    result = run_cli("dockerfile", str(project), "-o", str(out), "--force", *args, app_wheel=app_wheel)
    assert result.code == 0, result.err


def run_image(tag: str, *args: str) -> str:
    return docker("run", "--rm", "--network", "none", *args, tag).stdout.strip()


@pytest.fixture(scope="module")
def built(work: Path, index_base: str, tags: list[str]) -> Built:
    project = copy_example(work / "example")
    context = work / "context"
    emit(project, context, "--base", index_base)
    started = time.monotonic()
    output = docker_build(context, TAG)
    tags.append(TAG)
    return Built(index_base, project, context, TAG, output, time.monotonic() - started)


def test_the_image_prints_what_the_app_prints(built: Built) -> None:
    assert run_image(built.tag) == EXPECTED_OUTPUT


def test_the_image_runs_as_its_user_and_keeps_nothing_else(built: Built) -> None:
    script = (
        "id -u; id -g; ls -A /app; ls -A /tmp | wc -l; ls -A /root/.cache 2>/dev/null | wc -l; "
        "ls /app/.venv/lib/python3.11/site-packages | grep -c -i '^pip' || true"
    )
    lines = docker("run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "sh", built.tag, "-c", script).stdout.split()
    assert lines == ["0", "0", ".venv", "0", "0", "0"]  # pip runs from its wheel: none in the venv, no cache
    assert run_image(built.tag, "--entrypoint", "id") == "uid=10001 gid=10001 groups=10001"


def test_the_user_owns_its_home_and_not_the_app(built: Built) -> None:
    """As in a direct build: HOME is the user's, /app is not."""
    probe = 'echo "$HOME"; mkdir -p "$HOME/.config/app" && echo home-writable; touch /app/probe 2>/dev/null && echo app-writable || echo app-read-only'
    assert docker("run", "--rm", "--network", "none", "--entrypoint", "sh", built.tag, "-c", probe).stdout.split() == [
        "/home/app", "home-writable", "app-read-only",
    ]


def test_a_code_change_rebuilds_only_the_app_steps(built: Built, tags: list[str]) -> None:
    cli = built.project / "src/layerplan_example/cli.py"
    cli.write_text(cli.read_text().replace("layerplan-example ok:", "layerplan-example changed:"))
    emit(built.project, built.context, "--base", built.base)
    tag = f"{TAG}-changed"
    started = time.monotonic()
    output = docker_build(built.context, tag)
    seconds = time.monotonic() - started
    tags.append(tag)
    steps = list(step_cache(output).items())
    app_copy = next(i for i, (step, _) in enumerate(steps) if step.startswith("COPY dist/"))
    before_app = steps[1:app_copy]  # steps[0] is FROM
    assert len(before_app) == 2 + 2 * 5 + 2  # environment, 5 dependency layers, local: COPY + RUN each
    assert all(cached for _, cached in before_app), [step for step, cached in before_app if not cached]
    assert not any(cached for _, cached in steps[app_copy : app_copy + 2])  # the app's COPY and RUN rebuild
    assert run_image(tag) == EXPECTED_OUTPUT.replace(" ok:", " changed:")
    print(f"\nfirst build {built.seconds:.1f}s, rebuild after a code change {seconds:.1f}s")


def test_dockerignore_keeps_planted_secrets_out_of_the_build(built: Built, work: Path, tags: list[str]) -> None:
    context = work / "planted"
    shutil.copytree(built.context, context)
    (context / ".env").write_text("API_TOKEN=planted\n")
    (context / ".git").mkdir()
    (context / ".git/config").write_text("[core]\n")
    (context / "layerplan-planted.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    (context / "dist/.env.production").write_text("planted\n")
    (context / "local/notes-planted.txt").write_text("planted\n")
    tag = f"{TAG}-planted"
    docker_build(context, tag)
    tags.append(tag)
    found = docker(
        "run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "sh", tag, "-c",
        "find / -xdev \\( -name '.env*' -o -name '*planted*' -o -name .git \\) -print",
    ).stdout.split()
    assert found == []
    # And a Dockerfile that copies the whole context still gets only the allowed files.
    probe = work / "probe.Dockerfile"
    probe.write_text(f"FROM {tag}\nUSER 0\nCOPY . /ctx\nRUN find /ctx -type f | sort > /ctx-files\n")
    docker_build(context, f"{tag}-probe", network="none", extra=("-f", str(probe)))
    tags.append(f"{tag}-probe")
    listed = docker("run", "--rm", "--network", "none", "--entrypoint", "cat", f"{tag}-probe", "/ctx-files").stdout.split()
    expected = sorted(
        f"/ctx/{p.relative_to(built.context).as_posix()}" for p in built.context.rglob("*") if p.is_file() and p.name not in (".dockerignore", "Dockerfile")
    )
    assert listed == expected


def test_offline_context_builds_with_no_network(work: Path, base_image: str, tags: list[str], example_app_wheel: Path) -> None:
    project = copy_example(work / "offline-example")
    context = work / "offline"
    emit(project, context, "--base", base_image, "--offline", "--cache-dir", str(work / "wheel-cache"), app_wheel=example_app_wheel)
    wheels = sorted(p.name.split("-")[0] for p in (context / "wheels").iterdir())
    assert wheels == [
        "annotated_types", "click", "humanize", "numpy", "pydantic", "pydantic_core", "typing_extensions", "typing_inspection",
    ]
    tag = f"{TAG}-offline"
    docker_build(context, tag, network="none")  # base_image has no CA for the index: it could not download anyway
    tags.append(tag)
    assert run_image(tag) == EXPECTED_OUTPUT


def test_a_project_without_a_python_option_builds_on_the_bases_python(work: Path, base_image: str, tags: list[str]) -> None:
    """The base (Python 3.11) decides the target: before, the Dockerfile ran `python3.12 -m
    venv` (the default) on it and `docker build` failed with `python3.12: not found`."""
    project = work / "no-python-option"
    shutil.copytree(SETUPTOOLS_APP, project, ignore=shutil.ignore_patterns("dist", "build", "*.egg-info"))
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('[tool.layerplan]\npython = "3.11"\n', ""))
    assert "[tool.layerplan]" not in pyproject.read_text()  # requires-python >=3.11 alone would default to 3.12
    context = work / "no-python-option-context"
    emit(project, context, "--base", base_image, "--offline", "--cache-dir", str(work / "wheel-cache"))
    assert "RUN /usr/bin/python3.11 -m venv --without-pip /app/.venv" in (context / "Dockerfile").read_text()
    tag = f"{TAG}-base-python"
    docker_build(context, tag, network="none")
    tags.append(tag)
    assert run_image(tag) == SETUPTOOLS_LINE


# ---------------------------------------------------------------- buildah


def _buildah() -> str:
    path = shutil.which("buildah")
    if path is None and os.environ.get("LAYERPLAN_TEST_ENGINE_AUTOSTART") != "0" and os.geteuid() == 0 and Path("/etc/debian_version").exists():
        subprocess.run(["bash", str(SCRIPT), "start", "--with-buildah"], capture_output=True, timeout=1200, check=False, stdin=subprocess.DEVNULL)
        path = shutil.which("buildah")
    if path is None:
        unavailable("buildah is not installed (scripts/test-engine.sh start --with-buildah installs it)")
    return path


def test_buildkit_flavour_builds_with_buildah(work: Path, index_base: str, tags: list[str], example_app_wheel: Path) -> None:
    buildah = _buildah()
    project = copy_example(work / "buildkit-example")
    context = work / "buildkit"
    emit(project, context, "--base", index_base, "--flavour", "buildkit", app_wheel=example_app_wheel)
    storage = work / "buildah"
    common = [buildah, "--root", str(storage / "root"), "--runroot", str(storage / "run"), "--storage-driver", "vfs"]
    tag = f"{TAG}-buildkit"
    try:
        for command in (
            [*common, "bud", "--network", "host", "--tls-verify=false", "-t", tag, str(context)],
            [*common, "push", tag, f"docker-daemon:{tag}"],
        ):
            done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
            assert done.returncode == 0, f"{command[6]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        tags.append(tag)
        assert run_image(tag) == EXPECTED_OUTPUT
    finally:
        subprocess.run([*common, "rmi", "--all", "--force"], capture_output=True, timeout=300, check=False)
        shutil.rmtree(storage, ignore_errors=True)
