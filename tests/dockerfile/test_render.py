"""The pure parts: Dockerfile text, requirements files and .dockerignore, from a real plan."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from layerplan.dockerfile import (
    ContextLayout,
    DependencyStep,
    DockerfileError,
    DockerfileOptions,
    LocalStep,
    dockerignore_text,
    pip_for,
    render_dockerfile,
    requirements_file,
    step_filename,
)
from layerplan.lockfiles.model import LockedFile, Source
from layerplan.plan.model import PlannedLayer, LayerPlan
from layerplan.resolution import PlanRequest, plan_project
from layerplan.selection.model import InstallItem
from tests.dockerfile.helpers import EXAMPLE

BASE = "127.0.0.1:5000/python:3.11-bookworm"


@pytest.fixture(scope="module")
def plan() -> LayerPlan:
    return plan_project(PlanRequest(project=EXAMPLE))


def layout_for(plan: LayerPlan, *, offline: bool = False, local_sdist: bool = False) -> ContextLayout:
    steps = []
    for number, layer in enumerate(plan.layers, 1):
        if layer.kind == "dependencies":
            wheels = tuple(f"wheels/{item.wheel.filename}" for item in layer.packages if item.wheel) if offline else ()
            steps.append(DependencyStep(number=number, layer=layer, requirements=f"requirements/{step_filename(number, layer.name)}", wheels=wheels))
    local = plan.layer("local")
    local_file = "local/greeting-0.1.0.tar.gz" if local_sdist else "local/greeting-0.1.0-py3-none-any.whl"
    return ContextLayout(
        pip_wheel="layerplan/pip-26.2.1-py3-none-any.whl",
        python="python3.11",
        venv=plan.venv,
        dependencies=tuple(steps),
        local=LocalStep(number=len(plan.layers) - 2, layer=local, files=(local_file,), needs_index=local_sdist),
        app_wheel="dist/layerplan_example-0.1.0-py3-none-any.whl",
        app_number=len(plan.layers) - 1,
        config_number=len(plan.layers),
    )


def test_offline_portable_copies_each_layers_wheels_before_its_run(plan: LayerPlan) -> None:
    text = render_dockerfile(plan, layout_for(plan, offline=True), DockerfileOptions(base=BASE, offline=True))
    numpy = text.split("# 2. dep-numpy")[1].split("\n\n")[0]
    assert "COPY wheels/numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl /wheels/\nRUN " in numpy
    assert "--mount" not in text and "--no-cache-dir" in numpy


def test_offline_buildkit_bind_mounts_the_wheelhouse(plan: LayerPlan) -> None:
    text = render_dockerfile(plan, layout_for(plan, offline=True), DockerfileOptions(base=BASE, flavour="buildkit", offline=True))
    assert "COPY wheels/" not in text
    assert text.count("RUN --mount=type=bind,source=wheels,target=/wheels") == 5
    assert "type=cache" not in text  # nothing to download


def test_a_local_sdist_may_reach_the_index_for_its_build_requirements(plan: LayerPlan) -> None:
    text = render_dockerfile(plan, layout_for(plan, local_sdist=True), DockerfileOptions(base=BASE))
    local = text.split("local: greeting")[1].split("\n\n")[0]
    assert "/opt/layerplan/local/greeting-0.1.0.tar.gz" in local and "--no-index" not in local


def test_no_compile_when_bytecode_is_off(plan: LayerPlan) -> None:
    text = render_dockerfile(plan, layout_for(plan), DockerfileOptions(base=BASE, compile_bytecode=False))
    assert text.count("--no-compile") == 7  # 5 dependency layers, local, app


def test_config_values_are_quoted_and_never_expanded(plan: LayerPlan) -> None:
    settings = {
        **plan.settings,
        "env": {"GREETING": 'say "hi" for $5 \\o/'},
        "labels": {"org.opencontainers.image.title": "my app"},
        "entrypoint": [],
    }
    text = render_dockerfile(dataclasses.replace(plan, settings=settings), layout_for(plan), DockerfileOptions(base=BASE))
    assert 'ENV GREETING="say \\"hi\\" for \\$5 \\\\o/"\n' in text
    assert 'LABEL "org.opencontainers.image.title"="my app"\n' in text
    assert "ENTRYPOINT" not in text and "CMD" not in text  # no entrypoint: the base's CMD stays


def test_a_newline_in_a_setting_is_refused(plan: LayerPlan) -> None:
    settings = {**plan.settings, "env": {"BAD": "two\nlines"}}
    with pytest.raises(DockerfileError, match="newline"):
        render_dockerfile(dataclasses.replace(plan, settings=settings), layout_for(plan), DockerfileOptions(base=BASE))


# ---------------------------------------------------------------- requirements files


def _item(name: str, version: str | None, **kwargs: object) -> InstallItem:
    return InstallItem(name=name, version=version, source=Source(kind="registry"), **kwargs)  # type: ignore[arg-type]


def _layer(*items: InstallItem) -> PlannedLayer:
    return PlannedLayer(name="deps-1-of-2", kind="dependencies", key="0" * 64, reason="test", packages=items)


def test_requirements_pin_every_allowed_hash_of_pips_algorithms() -> None:
    wheel = LockedFile(kind="wheel", filename="a-1.0-py3-none-any.whl", hashes=("sha256:" + "b" * 64, "md5:" + "c" * 32))
    lookup = _item("b", "2.0", choice="lookup", hashes=("sha256:" + "e" * 64, "sha256:" + "d" * 64))
    file = requirements_file(
        _layer(_item("a", "1.0", choice="wheel", wheel=wheel, hashes=wheel.hashes), lookup),
        number=3, lock_name="uv.lock", offline=False, wheelhouse="/wheels", indexes=("https://pypi.org/simple/",),
    )
    assert file.hashed and not file.warnings
    assert file.text.splitlines()[1:] == [
        "--index-url https://pypi.org/simple",
        "a==1.0 \\",
        f"    --hash=sha256:{'b' * 64}",
        "b==2.0 \\",
        f"    --hash=sha256:{'d' * 64} \\",
        f"    --hash=sha256:{'e' * 64}",
    ]


def test_offline_requirements_use_only_the_wheelhouse() -> None:
    file = requirements_file(
        _layer(_item("a", "1.0", choice="lookup", hashes=("sha256:" + "a" * 64,))),
        number=2, lock_name="Pipfile.lock", offline=True, wheelhouse="/wheels", indexes=("https://pypi.org/simple",),
    )
    assert file.text.splitlines()[1:3] == ["--no-index", "--find-links /wheels"]
    assert "index-url" not in file.text


def test_index_credentials_never_reach_the_requirements_file() -> None:
    file = requirements_file(
        _layer(_item("a", "1.0", choice="lookup", hashes=("sha256:" + "a" * 64,), index="https://user:s3cret@pkgs.example/simple/")),
        number=2, lock_name="uv.lock", offline=False, wheelhouse="/wheels",
    )
    assert "s3cret" not in file.text and "user@" not in file.text
    assert "--index-url https://pkgs.example/simple\n" in file.text
    assert any("credentials" in warning for warning in file.warnings)


def test_a_layer_with_an_unhashed_package_installs_without_require_hashes() -> None:
    file = requirements_file(
        _layer(_item("a", "1.0", choice="lookup", hashes=("sha256:" + "a" * 64,)), _item("b", "2.0", choice="lookup")),
        number=2, lock_name="requirements.txt", offline=False, wheelhouse="/wheels",
    )
    assert not file.hashed and "--hash" not in file.text
    assert file.warnings == ("deps-1-of-2: the lock gives no hash for b: this layer installs without --require-hashes",)


def test_a_package_without_a_version_is_an_error() -> None:
    with pytest.raises(DockerfileError, match="pins no version"):
        requirements_file(_layer(_item("a", None, choice="lookup", hashes=("sha256:" + "a" * 64,))), number=2, lock_name="x", offline=False, wheelhouse="/w")


def test_step_files_are_named_by_position_and_a_file_safe_layer_name() -> None:
    assert step_filename(2, "dep-numpy") == "02-dep-numpy.txt"
    assert step_filename(12, "ML stack/β") == "12-ML-stack.txt"


def test_pip_is_chosen_for_the_target_python() -> None:
    assert pip_for((3, 13)).version == "26.2.1"
    assert pip_for((3, 9)).version == "26.0.1"
    assert pip_for((3, 8)).version == "25.0.1"


def test_dockerignore_allows_only_the_copied_files_and_denies_secrets_last() -> None:
    lines = dockerignore_text(["requirements/02-x.txt", "dist/app.whl"]).splitlines()
    assert lines[1:4] == ["*", "!requirements/02-x.txt", "!dist/app.whl"]
    assert lines.index("**/.env") > lines.index("!dist/app.whl")


def test_layout_lists_every_copied_file_once(plan: LayerPlan) -> None:
    layout = layout_for(plan, offline=True)
    assert len(layout.copied_files) == len(set(layout.copied_files)) == 1 + 5 + 8 + 1 + 1
    assert Path(layout.copied_files[0]).name.startswith("pip-")
