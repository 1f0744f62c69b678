"""A setuptools project that declares itself in setup.py / setup.cfg, not pyproject.toml:
read without running anything, with PEP 517's legacy backend as its builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerplan.errors import ConfigError, ProjectError
from layerplan.plan.config import PlanConfig
from layerplan.plan.planner import image_settings
from layerplan.project import read_project
from layerplan.project.setup_py import read_setup_metadata

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "setup-py-only"

SETUP_PY = """
import os
from setuptools import find_packages, setup
version = open("VERSION").read().strip()
setup(
    name="tool-x",
    version=version,                      # not a literal: comes from the built wheel
    python_requires=">=3.9",
    packages=find_packages(),
    install_requires=["requests>=2", "click"],
    entry_points={"console_scripts": ["tool-x = tool_x.cli:main", "tool-x-admin=tool_x.admin:run [extra]"]},
    scripts=["bin/legacy-tool"],
)
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_setup_py_literals_are_read_and_computed_values_left_out(tmp_path: Path) -> None:
    write(tmp_path / "setup.py", SETUP_PY)
    meta = read_setup_metadata(tmp_path)
    assert meta is not None
    assert meta.name == "tool-x"
    assert meta.version is None
    assert meta.requires_python == ">=3.9"
    assert meta.install_requires == ("requests>=2", "click")
    assert meta.console_scripts == {"tool-x": "tool_x.cli:main", "tool-x-admin": "tool_x.admin:run"}
    assert meta.file_scripts == ("legacy-tool",)


def test_setup_cfg_wins_over_setup_py(tmp_path: Path) -> None:
    write(tmp_path / "setup.py", SETUP_PY)
    write(
        tmp_path / "setup.cfg",
        "[metadata]\nname = tool-x-cfg\nversion = attr: tool_x.__version__\n"
        "[options]\npython_requires = >=3.10\ninstall_requires =\n    httpx\n    rich>=13\n"
        "[options.entry_points]\nconsole_scripts =\n    tool-x-cfg = tool_x.cli:main\n",
    )
    meta = read_setup_metadata(tmp_path)
    assert meta is not None
    assert (meta.name, meta.version, meta.requires_python) == ("tool-x-cfg", None, ">=3.10")
    assert meta.install_requires == ("httpx", "rich>=13")
    assert meta.console_scripts["tool-x-cfg"] == "tool_x.cli:main"


def test_setup_py_is_parsed_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    write(tmp_path / "setup.py", f"open({str(marker)!r}, 'w').close()\nfrom setuptools import setup\nsetup(name='x')\n")
    assert read_project(tmp_path).name == "x"
    assert not marker.exists()


def test_a_project_without_pyproject_builds_with_the_legacy_backend() -> None:
    project = read_project(FIXTURE)
    assert (project.name, project.version) == ("greet-tool", "2.0.1")
    assert project.build_backend == "setuptools.build_meta:__legacy__"
    assert project.build_requires == ("setuptools>=40.8.0",)
    assert str(project.requires_python) == ">=3.9"
    assert [str(r) for r in project.dependencies] == ["six>=1.16"]
    assert project.file_scripts == ("greet-tool",)


def test_a_pyproject_with_only_tool_tables_takes_its_name_from_setup_py(tmp_path: Path) -> None:
    """checkov's layout: pyproject.toml holds only linters' tables, setup.py the project."""
    write(tmp_path / "pyproject.toml", "[tool.black]\nline-length = 120\n")
    write(tmp_path / "setup.py", SETUP_PY)
    project = read_project(tmp_path)
    assert project.name == "tool-x"
    assert project.build_backend == "setuptools.build_meta:__legacy__"
    assert set(project.scripts) == {"tool-x", "tool-x-admin"}


def test_a_name_that_is_not_a_literal_is_one_clear_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.black]\nline-length = 120\n")
    write(tmp_path / "setup.py", "from setuptools import setup\nNAME = 'x'\nsetup(name=NAME)\n")
    with pytest.raises(ProjectError) as excinfo:
        read_project(tmp_path)
    assert "no name" in str(excinfo.value)
    assert "not a literal" in (excinfo.value.hint or "")


def test_no_pyproject_and_no_setup_py_is_still_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="no pyproject.toml"):
        read_project(tmp_path)


@pytest.mark.parametrize(
    ("scripts", "file_scripts", "expected"),
    [
        ({}, ("greet-tool",), ["/app/.venv/bin/greet-tool"]),  # the only script file
        ({}, ("helper", "greet-tool"), ["/app/.venv/bin/greet-tool"]),  # named like the project
        ({"serve": "m:f"}, ("greet-tool",), ["/app/.venv/bin/serve"]),  # a console script comes first
        ({}, ("a", "b"), []),  # ambiguous: none, with a warning
    ],
)
def test_the_entrypoint_may_be_a_scripts_file(scripts: dict[str, str], file_scripts: tuple[str, ...], expected: list[str]) -> None:
    import dataclasses

    project = dataclasses.replace(read_project(FIXTURE), scripts=scripts, file_scripts=file_scripts)
    settings, warnings = image_settings(project, PlanConfig(venv="/app/.venv"))
    assert settings["entrypoint"] == expected
    assert bool(warnings) == (expected == [])


def test_a_configured_entrypoint_must_name_a_script(tmp_path: Path) -> None:
    project = read_project(FIXTURE)
    assert image_settings(project, PlanConfig(venv="/v", entrypoint=("greet-tool", "--loud")))[0]["entrypoint"] == [
        "/v/bin/greet-tool", "--loud",
    ]
    with pytest.raises(ConfigError, match="not one of the project's scripts"):
        image_settings(project, PlanConfig(venv="/v", entrypoint=("greet",)))
