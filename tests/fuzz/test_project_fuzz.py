"""Fuzz the ``pyproject.toml`` reader the way ``test_lock_fuzz`` fuzzes the lock readers.

Seeds are the real projects of the repository (the example, the lock fixtures' projects:
PEP 621, Poetry 1, PDM, uv workspaces and sources). ``test_structure`` and
``test_bytes`` read each mutated file with ``read_project``; ``test_cli`` plans the
``basic`` fixture project with a mutated ``pyproject.toml`` through ``layerplan plan
--no-index``. Case counts and the on-demand long run: see ``test_lock_fuzz``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from layerplan.project import read_project
from tests.fuzz.mutations import mutated_bytes, mutated_tree, to_text
from tests.fuzz.oracle import CASES, FUZZ, check_cli, check_read
from tests.fuzz.seeds import PYPROJECTS


@pytest.fixture(scope="module")
def project_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A copy of each seed project (its members, sources and lockfiles), by seed."""
    copies = []
    for seed in PYPROJECTS:
        target = tmp_path_factory.mktemp("project") / seed.path.parent.name
        shutil.copytree(seed.path.parent, target, symlinks=True, ignore=shutil.ignore_patterns(".venv", "dist", "__pycache__"))
        copies.append(target)
    return copies


def _read(path: Path) -> object:
    return read_project(path.parent)


@FUZZ
@given(data=st.data())
def test_structure(data: st.DataObject, project_dirs: list[Path]) -> None:
    index = data.draw(st.integers(0, len(PYPROJECTS) - 1), label="seed")
    path = project_dirs[index] / "pyproject.toml"
    path.write_text(to_text(data.draw(mutated_tree((PYPROJECTS[index].tree,)), label="tree"), "toml"), encoding="utf-8")
    check_read(_read, path)


@FUZZ
@given(data=st.data())
def test_bytes(data: st.DataObject, project_dirs: list[Path]) -> None:
    index = data.draw(st.integers(0, len(PYPROJECTS) - 1), label="seed")
    path = project_dirs[index] / "pyproject.toml"
    path.write_bytes(data.draw(mutated_bytes((PYPROJECTS[index].text,)), label="bytes"))
    check_read(_read, path)


@hypothesis_settings(FUZZ, max_examples=max(1, CASES // 2))
@given(data=st.data())
def test_cli(data: st.DataObject, project_dirs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> None:
    # Seed 1 is the `basic` lock fixture: its uv.lock fits the unmutated project.
    path = project_dirs[1] / "pyproject.toml"
    path.write_text(to_text(data.draw(mutated_tree((PYPROJECTS[1].tree,)), label="tree"), "toml"), encoding="utf-8")
    cache = tmp_path_factory.getbasetemp() / "fuzz-cache-project"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAYERPLAN_CACHE_DIR", str(cache))
        check_cli(["plan", str(path.parent), "--no-index"], cache, path)
