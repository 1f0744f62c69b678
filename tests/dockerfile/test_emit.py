"""`layerplan dockerfile` without an engine: what the context holds, and the errors.

Most tests take the example's wheel built once per session (``example_app_wheel``): they
are about the context, not the wheel. Building it for real is tested where it matters:
the same bytes from a second build, and a code change changing only that wheel.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from pathlib import Path

import pytest

from gitfixture import LOCKED_COMMIT, ensure_git_fixture

from layerplan.resolution import PlanRequest, plan_project
from tests.direct_build.helpers import not_progress
from tests.dockerfile.helpers import BASIC, UV_SOURCES, copy_example, run_cli

SDIST_ONLY = Path(__file__).resolve().parents[1] / "fixtures" / "locks" / "sdist-only"



def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("dockerfile-emit") / "example")


@pytest.fixture(scope="module")
def context(example: Path, tmp_path_factory: pytest.TempPathFactory, base: str, example_app_wheel: Path) -> Path:
    out = tmp_path_factory.mktemp("ctx") / "context"
    result = run_cli("dockerfile", str(example), "--base", base, "-o", str(out), app_wheel=example_app_wheel)
    assert result.code == 0, result.err
    assert f"docker build -t layerplan-example {out}" in result.out
    return out


def test_context_holds_exactly_what_the_dockerfile_copies(context: Path) -> None:
    files = sorted(p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file())
    assert files == [
        ".dockerignore",
        "Dockerfile",
        "dist/layerplan_example-0.1.0-py3-none-any.whl",
        "layerplan/pip-26.2.1-py3-none-any.whl",
        "local/greeting-0.1.0-py3-none-any.whl",
        "requirements/02-dep-numpy.txt",
        "requirements/03-deps-1-of-4.txt",
        "requirements/04-deps-2-of-4.txt",
        "requirements/05-deps-3-of-4.txt",
        "requirements/06-deps-4-of-4.txt",
    ]
    dockerfile = (context / "Dockerfile").read_text()
    copied = {word for line in dockerfile.splitlines() if line.startswith("COPY ") for word in line.split()[1:-1]}
    assert copied == set(files) - {".dockerignore", "Dockerfile"}
    allowed = [line[1:] for line in (context / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    assert sorted(allowed) == sorted(copied)


def test_dockerfile_follows_the_plan_stable_first(context: Path) -> None:
    dockerfile = (context / "Dockerfile").read_text()
    instructions = [line.split()[0] for line in dockerfile.splitlines() if line and not line.startswith((" ", "#"))]
    # FROM, environment (COPY pip + RUN venv), 5 dependency layers, local, app: COPY + RUN each; then config
    assert instructions == ["FROM", *["COPY", "RUN"] * 8, "ENV", "WORKDIR", "USER", "ENTRYPOINT", "CMD"]
    order = [dockerfile.index(marker) for marker in (
        "-m venv --without-pip /app/.venv", "02-dep-numpy.txt", "06-deps-4-of-4.txt", "local/greeting", "dist/layerplan_example",
        "ENV PATH=", "USER 10001:10001", 'ENTRYPOINT ["/app/.venv/bin/layerplan-example"]',
    )]
    assert order == sorted(order)
    assert "COPY . " not in dockerfile and "src/" not in dockerfile
    for run in re.findall(r"^RUN .*?(?:\n(?: {4}.*))*$", dockerfile, flags=re.MULTILINE)[1:]:
        assert "--no-deps" in run and "--no-cache-dir" in run
        assert ("--require-hashes" in run) == ("requirements/" in run)


def test_portable_flavour_has_no_buildkit_only_syntax(context: Path) -> None:
    dockerfile = (context / "Dockerfile").read_text()
    for buildkit_only in ("# syntax", "--mount", "--link", "<<", "--chmod", "--chown"):
        assert buildkit_only not in dockerfile


def test_requirements_pin_versions_and_the_chosen_wheels_hashes(context: Path) -> None:
    text = (context / "requirements/02-dep-numpy.txt").read_text()
    assert "--index-url https://pypi.org/simple\n" in text
    assert re.search(r"^numpy==2\.4\.6 \\\n    --hash=sha256:[0-9a-f]{64}$", text, flags=re.MULTILINE)
    group = (context / "requirements/03-deps-1-of-4.txt").read_text()
    assert [line.split("==")[0] for line in group.splitlines() if "==" in line] == ["click", "typing-extensions", "typing-inspection"]


def test_emitting_again_gives_the_same_bytes(example: Path, context: Path, tmp_path: Path, base: str) -> None:
    """Same inputs, same files: that is what lets every COPY of an unchanged layer hit the cache.

    The app wheel is built again here (``context`` holds the session's build of it).
    """
    again = tmp_path / "again"
    assert run_cli("dockerfile", str(example), "--base", base, "-o", str(again)).code == 0
    assert _digests(again) == _digests(context)


def test_a_code_change_changes_only_the_app_wheel(example: Path, context: Path, tmp_path: Path, base: str) -> None:
    changed = copy_example(tmp_path / "changed")
    cli = changed / "src/layerplan_example/cli.py"
    cli.write_text(cli.read_text().replace("ok:", "ok!"))
    out = tmp_path / "ctx"
    assert run_cli("dockerfile", str(changed), "--base", base, "-o", str(out)).code == 0
    before, after = _digests(context), _digests(out)
    assert sorted(name for name in before if before[name] != after.get(name)) == ["dist/layerplan_example-0.1.0-py3-none-any.whl"]


def test_buildkit_flavour_mounts_the_pip_cache(example: Path, tmp_path: Path, base: str, example_app_wheel: Path) -> None:
    out = tmp_path / "bk"
    assert run_cli("dockerfile", str(example), "--base", base, "--flavour", "buildkit", "-o", str(out), app_wheel=example_app_wheel).code == 0
    dockerfile = (out / "Dockerfile").read_text()
    assert dockerfile.startswith("# syntax=docker/dockerfile:1\n")
    assert dockerfile.count("RUN --mount=type=cache,target=/root/.cache/pip") == 5
    assert "--link" not in dockerfile  # buildah 1.28 rejects COPY --link


def test_default_base_is_the_official_image_for_the_target(example: Path, tmp_path: Path, example_app_wheel: Path) -> None:
    out = tmp_path / "ctx"
    assert run_cli("dockerfile", str(example), "-o", str(out), app_wheel=example_app_wheel).code == 0
    assert "\nFROM docker.io/library/python:3.11-slim\n" in (out / "Dockerfile").read_text()


def test_a_package_without_a_wheel_is_built_from_its_pinned_sdist(tmp_path: Path, basic_app_wheel: Path) -> None:
    """numpy 2.2.6 has no CPython 3.14 wheels: pip builds it in the image, from the sdist the lock pins."""
    out = tmp_path / "ctx"
    result = run_cli("dockerfile", str(BASIC), "--lock", str(BASIC / "uv.lock"), "--python", "3.14", "-o", str(out), app_wheel=basic_app_wheel)
    assert result.code == 0, result.err
    (numpy_file,) = [p for p in (out / "requirements").iterdir() if "numpy==2.2.6" in p.read_text()]
    lines = numpy_file.read_text().splitlines()
    after = lines[lines.index("numpy==2.2.6 \\") + 1 :]
    hashes = [line.strip().removesuffix(" \\") for line in itertools.takewhile(lambda l: l.startswith("    --hash="), after)]
    plan = plan_project(PlanRequest(project=BASIC, lock=BASIC / "uv.lock", python="3.14"))
    numpy = next(item for item in plan.install_set.items if item.name == "numpy")
    assert numpy.choice == "sdist" and numpy.sdist is not None  # built from source; here by pip, in the image
    assert hashes == [f"--hash={h}" for h in numpy.sdist.hashes]  # the sdist's: pip builds it from that
    assert "FROM docker.io/library/python:3.14-slim" in (out / "Dockerfile").read_text()


def test_a_package_published_only_as_an_sdist_is_pinned_to_that_sdist_for_pip(tmp_path: Path) -> None:
    """The plan's `sdist` choice reaches the Dockerfile back end unchanged: pip builds docopt
    in the image, from the very sdist the lock pins (a direct build makes the wheel itself)."""
    out = tmp_path / "ctx"
    result = run_cli("dockerfile", str(SDIST_ONLY), "--python", "3.11", "-o", str(out))
    assert result.code == 0, result.err
    plan = plan_project(PlanRequest(project=SDIST_ONLY, python="3.11"))
    (docopt,) = [item for item in plan.install_set.items if item.name == "docopt"]
    assert docopt.choice == "sdist" and docopt.sdist is not None
    (requirements,) = [p.read_text() for p in (out / "requirements").iterdir() if "docopt" in p.read_text()]
    assert "--index-url https://pypi.org/simple\n" in requirements
    assert f"docopt==0.6.2 \\\n    --hash={docopt.sdist.hashes[0]}\n" in requirements
    assert docopt.sdist.hashes == ("sha256:49b3a825280bd66b3aa83585ef59c4a8c82f2c8a522dbe754a8bc8d08c85c491",)
    # --offline: no pip building in the image; the context carries the wheel layerplan built
    # from the locked sdist (the direct build's), pinned by that wheel's hash
    offline = run_cli("dockerfile", str(SDIST_ONLY), "--python", "3.11", "--offline", "-o", str(tmp_path / "o"))
    assert offline.code == 0, offline.err
    (wheel,) = (tmp_path / "o" / "wheels").glob("docopt-*.whl")
    assert wheel.name == "docopt-0.6.2-py2.py3-none-any.whl" or wheel.name.startswith("docopt-0.6.2-")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (pinned,) = [p.read_text() for p in (tmp_path / "o" / "requirements").iterdir() if "docopt" in p.read_text()]
    assert f"docopt==0.6.2 \\\n    --hash=sha256:{digest}\n" in pinned


def test_offline_refuses_a_package_that_needs_a_source_build(tmp_path: Path) -> None:
    result = run_cli("dockerfile", str(BASIC), "--lock", str(BASIC / "uv.lock"), "--python", "3.14", "--offline", "-o", str(tmp_path / "o"))
    assert result.code == 2
    error = not_progress(result.err)  # with an empty cache the wheels' download is shown first
    assert error.count("\n") == 1 and error.startswith("error: numpy 2.2.6: no wheel for cpython3.14")
    assert "its sdist has compiled code" in result.err and "--offline" in result.err
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- output directory


def test_a_non_empty_output_needs_force_and_force_replaces_it(example: Path, tmp_path: Path, base: str, example_app_wheel: Path) -> None:
    out = tmp_path / "ctx"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run_cli("dockerfile", str(example), "--base", base, "-o", str(out))
    assert result.code == 2
    assert result.err.count("\n") == 1 and "exists and is not empty" in result.err and "--force" in result.err
    assert (out / "keep.txt").read_text() == "mine"
    assert run_cli("dockerfile", str(example), "--base", base, "-o", str(out), "--force", app_wheel=example_app_wheel).code == 0
    assert not (out / "keep.txt").exists() and (out / "Dockerfile").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["ctx"]  # no staging or old directories left


def test_an_empty_existing_output_is_fine(example: Path, tmp_path: Path, base: str, example_app_wheel: Path) -> None:
    (tmp_path / "ctx").mkdir()
    assert run_cli("dockerfile", str(example), "--base", base, "-o", str(tmp_path / "ctx"), app_wheel=example_app_wheel).code == 0


def test_the_output_never_replaces_the_project(example: Path) -> None:
    for target in (example, example.parent):
        result = run_cli("dockerfile", str(example), "-o", str(target), "--force")
        assert result.code == 2 and "holds the project itself" in result.err
    assert (example / "pyproject.toml").is_file()


def test_a_failed_run_leaves_the_previous_context_alone(tmp_path: Path, base: str, example_app_wheel: Path) -> None:
    project = copy_example(tmp_path / "example")
    out = tmp_path / "ctx"
    assert run_cli("dockerfile", str(project), "--base", base, "-o", str(out), app_wheel=example_app_wheel).code == 0
    before = _digests(out)
    member = project / "packages/greeting/pyproject.toml"
    member.write_text(member.read_text().replace('build-backend = "hatchling.build"', 'build-backend = "hatchling.nope"'))
    result = run_cli("dockerfile", str(project), "--base", base, "-o", str(out), "--force", app_wheel=example_app_wheel)
    assert result.code == 2
    assert result.err.count("\n") == 1, result.err
    assert result.err.startswith("error: ") and "greeting" in result.err and "python -m build --wheel" in result.err
    assert _digests(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ctx", "example"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "Not An Image"], "invalid base image"),
        (["--python", "2.7"], "invalid Python version '2.7'"),
    ],
)
def test_bad_options_are_one_line_errors(example: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli("dockerfile", str(example), "-o", str(tmp_path / "ctx"), *args)
    assert result.code == 2
    assert result.err.count("\n") == 1 and message in result.err, result.err
    assert not (tmp_path / "ctx").exists()


def test_an_output_that_cannot_be_created_is_a_one_line_error(example: Path, tmp_path: Path, base: str, example_app_wheel: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    result = run_cli("dockerfile", str(example), "--base", base, "-o", str(tmp_path / "a-file" / "ctx"), app_wheel=example_app_wheel)
    assert result.code == 2
    assert result.err.count("\n") == 1 and "cannot create a directory beside" in result.err, result.err
    assert (tmp_path / "a-file").read_text() == "x"


def test_a_missing_project_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli("dockerfile", str(tmp_path / "nowhere"), "-o", str(tmp_path / "ctx"))
    assert result.code == 2 and result.err.count("\n") == 1


def test_output_is_required() -> None:
    result = run_cli("dockerfile", ".")
    assert result.code == 2 and "-o/--output" in result.err


# ---------------------------------------------------------------- local packages of every kind


def test_every_kind_of_local_package_becomes_a_wheel_in_the_context(tmp_path: Path, base: str) -> None:
    assert ensure_git_fixture() == LOCKED_COMMIT  # the repository the lock's git sources name
    out = tmp_path / "ctx"
    result = run_cli("dockerfile", str(UV_SOURCES), "--base", base, "-o", str(out))
    assert result.code == 0, result.err
    local = sorted(p.name for p in (out / "local").iterdir())
    assert local == [
        "alpha-0.1.0-py3-none-any.whl",  # workspace members
        "beta-0.1.0-py3-none-any.whl",
        "editable_pkg-0.1.0-py3-none-any.whl",  # editable path: installed non-editable
        "gitdep-0.1.0-py3-none-any.whl",  # git, at the locked commit
        "gitsub-0.1.0-py3-none-any.whl",  # git subdirectory
        "local_dir_pkg-0.1.0-py3-none-any.whl",  # directory
        "six-1.17.0-py2.py3-none-any.whl",  # direct URL, verified against the lock's hash
        "wheel_file_pkg-0.1.0-py3-none-any.whl",  # a wheel file, as it is
    ]
    dockerfile = (out / "Dockerfile").read_text()
    assert "--no-index" in dockerfile.split("local/alpha")[1].split("\n\n")[0]


def test_cli_flavour_choices_match_the_emitter() -> None:
    from layerplan.cli.dockerfile_cmd import FLAVOUR_CHOICES
    from layerplan.dockerfile import FLAVOURS

    assert FLAVOUR_CHOICES == FLAVOURS


def test_a_docker_slash_slash_base_is_the_same_from_line_as_a_bare_reference() -> None:
    """skopeo's `docker://REF` names the registry image REF: FROM takes it without the prefix."""
    from layerplan.dockerfile.emit import qualify_base

    assert qualify_base("docker://python:3.12-slim") == qualify_base("python:3.12-slim") == "docker.io/library/python:3.12-slim"
