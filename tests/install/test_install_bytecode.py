"""Compiling a staging tree's sources with the target's Python."""

from __future__ import annotations

import logging
import marshal
import os
import shutil
import struct
import sys
from pathlib import Path, PurePosixPath

import pytest

from layerplan.install import TargetVenv, bytecode, compile_tree, find_interpreter, install_wheel

VENV = TargetVenv(python_version="3.11")
SITE = "app/.venv/lib/python3.11/site-packages"


@pytest.fixture
def tree(real_wheels, tmp_path):  # type: ignore[no-untyped-def]
    stage = tmp_path / "stage"
    for name in ("six", "click", "docutils"):  # docutils: enough files for parallel workers
        install_wheel(real_wheels[name], stage, VENV)
    (stage / SITE / "broken.py").write_text("def (:\n")
    return stage


def _pycs(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.pyc"))}


def test_unchecked_hash_pycs_with_the_image_path(tree):  # type: ignore[no-untyped-def]
    if sys.version_info[:2] != (3, 11):
        pytest.skip("reads the pyc with the running interpreter's marshal")
    result = compile_tree(tree, VENV)
    assert result.interpreter is not None and result.reason is None
    assert result.failed == (PurePosixPath(f"/{SITE}/broken.py"),)
    pyc = tree / SITE / "__pycache__" / "six.cpython-311.pyc"
    data = pyc.read_bytes()
    (flags,) = struct.unpack("<I", data[4:8])
    assert flags == 0b01  # hash-based, check_source off: unchecked-hash
    code = marshal.loads(data[16:])
    assert code.co_filename == f"/{SITE}/six.py"
    assert (tree / SITE / "click" / "__pycache__" / "core.cpython-311.pyc").exists()
    assert result.compiled == len(_pycs(tree)) > 10


def test_compiling_twice_gives_identical_bytes(tree, tmp_path):  # type: ignore[no-untyped-def]
    elsewhere = tmp_path / "other" / "place"
    shutil.copytree(tree, elsewhere, symlinks=True)
    compile_tree(tree, VENV, jobs=1)
    compile_tree(elsewhere, VENV, jobs=2)  # another host path, another split between workers
    first, second = _pycs(tree), _pycs(elsewhere)
    assert first and first == second
    compile_tree(tree, VENV)  # again over existing pycs
    assert _pycs(tree) == first


def test_another_target_version(tree):  # type: ignore[no-untyped-def]
    other = "3.12" if sys.version_info[:2] != (3, 12) else "3.11"
    if find_interpreter(other) is None:
        pytest.skip(f"no python{other} on this host")
    venv = TargetVenv(python_version=other)
    stage = tree.parent / "stage-other"
    shutil.copytree(tree / SITE, stage / venv.site_packages.relative_to("/"))
    result = compile_tree(stage, venv)
    tag = "cpython-" + other.replace(".", "")
    assert (stage / venv.site_packages.relative_to("/") / "__pycache__" / f"six.{tag}.pyc").exists()
    assert result.compiled > 10


def test_no_interpreter_is_reported_once(tree, caplog, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(bytecode, "_reported", set())
    venv = TargetVenv(python_version="3.99")
    with caplog.at_level(logging.WARNING, logger="layerplan.install.bytecode"):
        first = compile_tree(tree, venv)
        second = compile_tree(tree, venv)
    assert first.interpreter is None and first.compiled == 0
    assert first.reason == second.reason == "no Python 3.99 interpreter on this host; bytecode not compiled"
    assert len([r for r in caplog.records if "3.99" in r.getMessage()]) == 1
    assert not _pycs(tree)


def test_find_interpreter_host() -> None:
    found = find_interpreter(f"{sys.version_info[0]}.{sys.version_info[1]}")
    assert found is not None


def test_a_compiler_started_early_gives_the_same_bytes_and_an_unused_one_is_stopped(tree, tmp_path):  # type: ignore[no-untyped-def]
    """``start_compiler``: the interpreter starts before the sources are there and compiles
    them when asked, to the bytes a compiler started then gives; one never asked is killed
    and reaped by ``stop()``."""
    interpreter = find_interpreter("3.11")
    if interpreter is None:
        pytest.skip("no Python 3.11 on this host")
    elsewhere = tmp_path / "early"
    shutil.copytree(tree, elsewhere, symlinks=True)
    early = bytecode.start_compiler(interpreter)  # before the request is made
    result = compile_tree(elsewhere, VENV, compiler=early)
    early.stop()  # after its one request: nothing left to do
    compile_tree(tree, VENV, interpreter=interpreter)
    assert result.interpreter == interpreter and result.compiled > 10
    assert _pycs(elsewhere) == _pycs(tree)
    unused = bytecode.start_compiler(interpreter)
    unused.stop()
    with pytest.raises(ProcessLookupError):  # killed and reaped: no process left waiting
        os.kill(unused.pid, 0)
