"""bench/corpus/projects.toml is the corpus issue #8 asks for, and bench/corpus.py can read it.

Static checks (no network, no engine): at least ten applications, pinned by commit, that
cover every lock format layerplan reads, a virtual uv workspace with two or more services,
two or more projects with an sdist-only dependency and a Poetry project with
``[tool.poetry.scripts]``. Where a project's sources are in the local corpus cache
(``~/.cache/layerplan-corpus``, filled by ``bench/corpus.py --from-mirror``), its lockfile,
its edited file and its claims are checked against them; elsewhere those checks skip.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS_SCRIPT = REPO / "bench" / "corpus.py"


def _load_corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layerplan_bench_corpus", CORPUS_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus()
PROJECTS = corpus.load_projects()


def test_at_least_ten_applications_pinned_by_commit() -> None:
    assert len(PROJECTS) >= 10
    assert len({p.name for p in PROJECTS}) == len(PROJECTS)
    for project in PROJECTS:
        assert len(project.commit) == 40, project.name
        assert project.run and project.expect and project.edit and project.why, project.name
        assert project.edit.endswith(".py"), project.name


def test_every_lock_format_is_covered() -> None:
    kinds = Counter(p.lock_kind.split(" ")[0] for p in PROJECTS)
    for kind in ("uv.lock", "pylock.toml", "poetry.lock", "pdm.lock", "Pipfile.lock", "requirements.txt"):
        assert kinds[kind] >= 1, f"no project with a {kind}"


def test_a_virtual_workspace_with_two_services_and_the_other_cases() -> None:
    members = Counter((p.repository, p.commit, p.subdirectory) for p in PROJECTS if p.package)
    assert any(count >= 2 for count in members.values()), "no uv workspace with two services"
    sdist_only = [p.name for p in PROJECTS if "sdist" in p.why]
    assert len(sdist_only) >= 2
    assert any(p.lock_kind == "poetry.lock" and "[tool.poetry.scripts]" in p.why for p in PROJECTS)


def _source(project: Any) -> Path:
    src: Path = corpus.source_dir(corpus.DEFAULT_SOURCES, project)
    if not src.is_dir():
        pytest.skip(f"no local source for {project.name}: bench/corpus.py --from-mirror fills it")
    return src / str(project.subdirectory) if project.subdirectory else src


@pytest.mark.parametrize("project", PROJECTS, ids=[p.name for p in PROJECTS])
def test_the_entry_matches_its_sources(project: Any) -> None:
    root = _source(project)
    assert (root / project.lock).is_file()
    assert (root / project.edit).is_file()
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    if project.package:
        assert "project" not in data, "the workspace root is meant to be virtual"
        assert "workspace" in data["tool"]["uv"]
    if "[tool.poetry.scripts]" in project.why:
        assert project.run[0] in data["tool"]["poetry"]["scripts"]


def test_error_line_prefers_layerplans_error_line() -> None:
    done = corpus.Completed(2, "", "building...\nerror: x: no wheel (hint: y)\n", 0.1)
    assert corpus.error_line(done) == "error: x: no wheel (hint: y)"
    crashed = corpus.Completed(1, "", "Traceback (most recent call last):\n  ...\nValueError: boom\n", 0.1)
    assert corpus.error_line(crashed) == "traceback: ValueError: boom"
