"""Session fixtures for the front-end tests: layerplan's wheel (built once), and
virtual environments with hatch, hatchling and setuptools from PyPI."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine import base_image, docker_client  # noqa: F401

from tests.frontends.frontend_tools import build_layerplan_wheel, make_venv, tool_env


@pytest.fixture(scope="session")
def frontend_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session keeps its venvs, hatch's state and layerplan's cache."""
    return tmp_path_factory.mktemp("frontends")


@pytest.fixture(scope="session")
def layerplan_wheel(frontend_home: Path) -> Path:
    """This checkout's wheel, the only file of its folder (the find-links folder)."""
    folder = frontend_home / "wheels"
    folder.mkdir()
    return build_layerplan_wheel(folder, tool_env(folder, frontend_home))


@pytest.fixture(scope="session")
def front_env(layerplan_wheel: Path, frontend_home: Path) -> dict[str, str]:
    """The environment of every front-end run (PyPI + the wheel folder; a session cache)."""
    return tool_env(layerplan_wheel.parent, frontend_home, {"LAYERPLAN_CACHE_DIR": str(frontend_home / "layerplan-cache")})


@pytest.fixture(scope="session")
def hatch(front_env: dict[str, str], frontend_home: Path) -> Path:
    """The ``hatch`` command, from PyPI, with an empty configuration of its own."""
    (frontend_home / "hatch-config.toml").touch()
    make_venv(frontend_home / "hatch-venv", ["hatch"], front_env)
    return frontend_home / "hatch-venv" / "bin" / "hatch"


@pytest.fixture(scope="session")
def hatchling_python(front_env: dict[str, str], frontend_home: Path, layerplan_wheel: Path) -> Path:
    """A Python with hatchling and this layerplan installed (``python -m hatchling build``)."""
    return make_venv(frontend_home / "hatchling-venv", ["hatchling", str(layerplan_wheel)], front_env)


@pytest.fixture(scope="session")
def setuptools_python(front_env: dict[str, str], frontend_home: Path, layerplan_wheel: Path) -> Path:
    """A Python with setuptools and this layerplan installed (``python setup.py build_image``)."""
    return make_venv(frontend_home / "setuptools-venv", ["setuptools", str(layerplan_wheel)], front_env)
