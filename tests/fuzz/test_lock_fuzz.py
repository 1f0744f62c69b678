"""Fuzz every lockfile reader with structure-aware mutations of real lockfiles.

Seeds are files written by the real tools (``tests/fuzz/seeds.py``). Per format, three
tests run ``CASES`` inputs each, ``CASES // 2`` for the CLI (default 100: 250 inputs per
format; a deterministic set, so CI sees the same inputs every run):

* ``test_structure``: the parsed file with keys deleted, values of the wrong type,
  duplicated entries, renamed keys, nested values, broken versions, markers, hashes,
  paths and URLs with credentials (``tests/fuzz/mutations.py``), written back;
* ``test_bytes``: the raw file truncated, cut, with bytes, lines and snippets inserted
  (merge-conflict markers, deep nesting, duplicate keys, invalid UTF-8);
* ``test_cli``: half as many structure mutations through ``layerplan plan --no-index``
  (in this process): exit 0, or exit 2 with one line, nothing written, no credential;
  ``test_cli_process`` checks the same from a real ``layerplan`` process, once per format.

The oracle is in ``tests/fuzz/oracle.py``. Longer runs, on demand::

    LAYERPLAN_FUZZ_CASES=20000 LAYERPLAN_FUZZ_RANDOM=1 LAYERPLAN_FUZZ_REPORT=/tmp/fuzz.jsonl \\
        .venv/bin/python -m pytest -q tests/fuzz

``LAYERPLAN_FUZZ_RANDOM=1`` draws new inputs each run; ``LAYERPLAN_FUZZ_REPORT`` lists
every failure in a file instead of stopping at the first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from layerplan.lockfiles import LockFormat, read_lock
from layerplan.planning import available_formats
from tests.fuzz.mutations import SECRET, mutated_bytes, mutated_tree, to_text
from tests.fuzz.oracle import CASES, FUZZ, check_cli, check_read
from tests.fuzz.seeds import FORMATS, Format

_BY_NAME = {f.name: f for f in FORMATS}


def _reader(name: str) -> LockFormat:
    return next(f for f in available_formats() if f.name == name)


@pytest.fixture(scope="module")
def seed_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    """A copy of each seed's directory (includes, local paths and projects resolve as in
    the real tree), by the seed's path; each case overwrites the lockfile in it."""
    copies: dict[Path, Path] = {}
    for lock_format in FORMATS:
        for seed in lock_format.seeds:
            if seed.path.parent not in copies:
                target = tmp_path_factory.mktemp("seed") / seed.path.parent.name
                shutil.copytree(seed.path.parent, target, symlinks=True)
                copies[seed.path.parent] = target
    return copies


def _target(lock_format: Format, index: int, seed_dirs: dict[Path, Path]) -> Path:
    return seed_dirs[lock_format.seeds[index].path.parent] / lock_format.filename


@pytest.mark.parametrize("name", list(_BY_NAME))
@FUZZ
@given(data=st.data())
def test_structure(name: str, data: st.DataObject, seed_dirs: dict[Path, Path]) -> None:
    lock_format = _BY_NAME[name]
    index = data.draw(st.integers(0, len(lock_format.seeds) - 1), label="seed")
    tree = data.draw(mutated_tree((lock_format.seeds[index].tree,)), label="tree")
    path = _target(lock_format, index, seed_dirs)
    path.write_text(to_text(tree, lock_format.kind), encoding="utf-8")
    check_read(lambda p: read_lock(p, _reader(name)), path)


@pytest.mark.parametrize("name", list(_BY_NAME))
@FUZZ
@given(data=st.data())
def test_bytes(name: str, data: st.DataObject, seed_dirs: dict[Path, Path]) -> None:
    lock_format = _BY_NAME[name]
    index = data.draw(st.integers(0, len(lock_format.seeds) - 1), label="seed")
    path = _target(lock_format, index, seed_dirs)
    path.write_bytes(data.draw(mutated_bytes((lock_format.seeds[index].text,)), label="bytes"))
    check_read(lambda p: read_lock(p, _reader(name)), path)


@pytest.mark.parametrize("name", list(_BY_NAME))
@hypothesis_settings(FUZZ, max_examples=max(1, CASES // 2))
@given(data=st.data())
def test_cli(name: str, data: st.DataObject, seed_dirs: dict[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> None:
    # The first seed of each format is the `basic` project's lock, whose pyproject.toml it fits.
    lock_format = _BY_NAME[name]
    path = _target(lock_format, 0, seed_dirs)
    tree = data.draw(mutated_tree((lock_format.seeds[0].tree,)), label="tree")
    path.write_text(to_text(tree, lock_format.kind), encoding="utf-8")
    cache = tmp_path_factory.getbasetemp() / f"fuzz-cache-{name}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAYERPLAN_CACHE_DIR", str(cache))
        check_cli(["plan", str(path.parent), "--lock", str(path), "--no-index"], cache, path)


@pytest.mark.parametrize("name", list(_BY_NAME))
def test_cli_process(name: str, seed_dirs: dict[Path, Path], tmp_path: Path) -> None:
    """The same promise from a real ``layerplan`` process: a lock cut in half (an
    interrupted write) with a credentialed URL at the cut is exit 2, one line on stderr,
    nothing on stdout, no traceback, no credential."""
    lock_format = _BY_NAME[name]
    project = tmp_path / "basic"
    shutil.copytree(seed_dirs[lock_format.seeds[0].path.parent], project)
    text = lock_format.seeds[0].text
    (project / lock_format.filename).write_text(
        text[: len(text) // 2] + f"\nhttps://fuzz:{SECRET}@pypi.example/simple\n", encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "layerplan", "plan", str(project), "--lock", str(project / lock_format.filename), "--no-index"],
        capture_output=True, text=True, env={**os.environ, "LAYERPLAN_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {project / lock_format.filename}:") and result.stderr.count("\n") == 1
    assert SECRET not in result.stderr and "Traceback" not in result.stderr
