"""The install set from real uv locks: forks, extras, groups, local sources, missing wheels."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from layerplan.errors import ConfigError, LockMismatchError, NoWheelError
from layerplan.resolution import PlanRequest, plan_project
from layerplan.selection import InstallSet

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "locks"
EXAMPLE = Path(__file__).resolve().parents[2] / "example-project"
SOURCES = FIXTURES / "uv-sources"


def resolve(project: Path, **options: object) -> InstallSet:
    return plan_project(PlanRequest(project=project, **options)).install_set  # type: ignore[arg-type]


def by_name(result: InstallSet) -> dict[str, object]:
    return {item.name: item for item in result.items}


def test_forked_lock_picks_the_version_for_the_target_python() -> None:
    # example-project/uv.lock forks numpy: 2.4.6 below Python 3.12, 2.5.x from 3.12 on
    assert by_name(resolve(EXAMPLE, python="3.11"))["numpy"].version == "2.4.6"  # type: ignore[attr-defined]
    assert by_name(resolve(EXAMPLE, python="3.12"))["numpy"].version.startswith("2.5")  # type: ignore[attr-defined]


def test_workspace_members_and_local_sources_are_local() -> None:
    items = by_name(resolve(SOURCES, python="3.11"))
    assert items["alpha"].workspace_member and items["beta"].workspace_member  # type: ignore[attr-defined]
    for name in ("alpha", "beta", "local-dir-pkg", "editable-pkg", "gitdep", "gitsub", "six", "wheel-file-pkg"):
        assert items[name].is_local, name  # type: ignore[attr-defined]
    assert items["gitdep"].choice == "build"  # type: ignore[attr-defined]
    assert re.fullmatch(r"[0-9a-f]{40}", items["gitdep"].source.reference or "")  # type: ignore[attr-defined]
    assert items["six"].choice == "wheel"  # a direct URL to a wheel  # type: ignore[attr-defined]
    assert not items["idna"].is_local  # beta's registry dependency  # type: ignore[attr-defined]
    assert "beta" in items["idna"].required_by  # type: ignore[attr-defined]


def test_virtual_root_has_no_app_layer() -> None:
    plan = plan_project(PlanRequest(project=SOURCES, python="3.11"))
    assert plan.install_set.project_is_virtual
    assert "app" not in [layer.name for layer in plan.layers]
    assert "app" in [layer.name for layer in plan_project(PlanRequest(project=EXAMPLE)).layers]


def test_dev_groups_only_when_asked_and_extras_add_their_packages() -> None:
    plain = by_name(resolve(SOURCES, python="3.11"))
    assert "iniconfig" not in plain and "click" not in plain
    with_dev = by_name(resolve(SOURCES, python="3.11", groups=("dev",)))
    assert "iniconfig" in with_dev
    with_cli = by_name(resolve(SOURCES, python="3.11", extras=("cli",)))
    assert with_cli["click"].version == "8.5.0"  # type: ignore[attr-defined]


def test_unknown_extra_or_group_is_named() -> None:
    with pytest.raises(ConfigError, match="extra 'nope'") as info:
        resolve(SOURCES, extras=("nope",))
    assert "cli" in (info.value.hint or "")
    with pytest.raises(LockMismatchError, match="dependency group 'nope'"):
        resolve(SOURCES, groups=("nope",))


@pytest.fixture
def numpy_without_linux_wheels(tmp_path: Path) -> Path:
    project = tmp_path / "basic"
    shutil.copytree(FIXTURES / "basic", project)
    lock = project / "uv.lock"
    lines = lock.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not ("numpy-2.2.6-" in line and ("linux" in line))]
    lock.write_text("".join(kept))
    return project


def test_a_package_without_a_fitting_wheel_is_built_from_its_hashed_sdist(numpy_without_linux_wheels: Path) -> None:
    result = resolve(numpy_without_linux_wheels, lock=numpy_without_linux_wheels / "uv.lock", python="3.11")
    numpy = by_name(result)["numpy"]
    assert numpy.choice == "sdist" and result.without_wheel == ()  # type: ignore[attr-defined]
    assert numpy.sdist.filename == "numpy-2.2.6.tar.gz" and numpy.hashes == numpy.sdist.hashes  # type: ignore[attr-defined]
    assert "win_amd64" in (numpy.note or "") and "an sdist exists" in (numpy.note or "")  # type: ignore[attr-defined]
    assert numpy.size == numpy.sdist.size == 20276440  # type: ignore[attr-defined]
    result.require_wheels()  # built from source: not missing
    cli = [sys.executable, "-m", "layerplan", "plan", str(numpy_without_linux_wheels), "--python", "3.11"]
    shown = subprocess.run(cli, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    assert "numpy 2.2.6 (built from sdist)" in shown.stdout


def test_a_package_without_a_fitting_wheel_or_a_hashed_sdist_is_reported(numpy_without_linux_wheels: Path) -> None:
    lock = numpy_without_linux_wheels / "uv.lock"
    lock.write_text("".join(line for line in lock.read_text().splitlines(keepends=True) if "numpy-2.2.6.tar.gz" not in line))
    result = resolve(numpy_without_linux_wheels, lock=lock, python="3.11")
    (numpy,) = result.without_wheel
    assert numpy.name == "numpy" and numpy.choice == "none"
    assert "win_amd64" in (numpy.note or "") and "sdist" not in (numpy.note or "")
    with pytest.raises(NoWheelError, match="numpy 2.2.6") as info:
        result.require_wheels()
    assert "layerplan dockerfile" in (info.value.hint or "")
    cli = [sys.executable, "-m", "layerplan", "plan", str(numpy_without_linux_wheels), "--python", "3.11"]
    strict = subprocess.run(cli, capture_output=True, text=True)
    assert strict.returncode == 2 and "no wheel for cpython3.11" in strict.stderr
    lenient = subprocess.run([*cli, "--allow-missing-wheels"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert lenient.returncode == 0 and "numpy 2.2.6 (no wheel)" in lenient.stdout


def test_pdm_extras_activate_the_group_of_the_same_name() -> None:
    project = FIXTURES / "pdm-reader"
    plain = by_name(resolve(project, python="3.11", allow_missing_wheels=True))
    with_yaml = by_name(resolve(project, python="3.11", extras=("yaml",), allow_missing_wheels=True))
    assert "pyyaml" not in plain
    assert "pyyaml" in with_yaml


def test_poetry_1_project_tables_root_the_walk_of_a_2_0_lock() -> None:
    """[tool.poetry.dependencies] (no [project] table) with a lock-version 2.0 graph lock."""
    project = FIXTURES / "poetry-reader" / "legacy"
    py311 = by_name(resolve(project, python="3.11", allow_missing_wheels=True))
    py39 = by_name(resolve(project, python="3.9", allow_missing_wheels=True))
    # click = [{version = "<8.2", python = "<3.10"}, {version = ">=8.2", python = ">=3.10"}]
    assert py311["click"].version == "8.5.1"  # type: ignore[attr-defined]
    assert py39["click"].version == "8.1.8"  # type: ignore[attr-defined]
    assert "pysocks" in py311  # requests = {extras = ["socks"]}
    assert "pyyaml" not in py311 and "pytest" not in py311
    full = by_name(resolve(project, python="3.11", extras=("yaml",), groups=("dev",), allow_missing_wheels=True))
    assert "pyyaml" in full and "pytest" in full
