"""A layer's bytecode: compiled once per wheel, kept in the store, restored byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

import pytest

from layerplan.cache import Store
from layerplan.install import TargetVenv, find_interpreter, install_wheel
from layerplan.install.compiled import bytecode_key, compile_layer

VENV = TargetVenv(python_version="3.11")

pytestmark = pytest.mark.skipif(find_interpreter("3.11") is None, reason="needs a Python 3.11 on this machine")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pycs(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.pyc"))}


def stage(root: Path, wheels: list[tuple[Path, bool]]) -> list:  # type: ignore[type-arg]
    """Install ``wheels`` (path, cacheable) into ``root``; what compile_layer takes."""
    return [(install_wheel(path, root, VENV), sha256(path) if cacheable else None) for path, cacheable in wheels]


def test_the_second_layer_restores_what_the_first_compiled(real_wheels, tmp_path):  # type: ignore[no-untyped-def]
    interpreter = find_interpreter("3.11")
    assert interpreter is not None
    store = Store(tmp_path / "cache").bytecode
    wheels = [(real_wheels["six"], True), (real_wheels["click"], True)]

    first = tmp_path / "first"
    done = compile_layer(first, VENV, stage(first, wheels), interpreter=interpreter, store=store)
    assert done.stored == ("six", "click") and done.reused == () and done.compiled > 10

    # another layer (click alone, plus an uncached wheel) restores click's, compiles the rest
    second = tmp_path / "second"
    again = compile_layer(
        second, VENV, stage(second, [(real_wheels["click"], True), (real_wheels["pyflakes"], False)]),
        interpreter=interpreter, store=store,
    )  # fmt: skip
    assert again.reused == ("click",) and again.stored == ()
    fresh = tmp_path / "fresh"
    compile_layer(fresh, VENV, stage(fresh, [(real_wheels["click"], True), (real_wheels["pyflakes"], False)]), interpreter=interpreter, store=None)
    assert pycs(second) == pycs(fresh)  # restored pycs are the compiled ones, byte for byte


def test_a_wheel_whose_file_a_later_wheel_replaced_is_not_kept(real_wheels, make_wheel, tmp_path):  # type: ignore[no-untyped-def]
    interpreter = find_interpreter("3.11")
    assert interpreter is not None
    store = Store(tmp_path / "cache").bytecode
    shadow = make_wheel(tmp_path, {"six.py": b"SHADOWED = True\n"}, name="shadow")
    root = tmp_path / "stage"
    done = compile_layer(root, VENV, stage(root, [(real_wheels["six"], True), (shadow, True)]), interpreter=interpreter, store=store)
    assert done.stored == ("shadow",)  # six's six.py is shadow's now: six's pycs would be wrong
    assert store.find(bytecode_key(sha256(real_wheels["six"]), VENV, interpreter=interpreter)) is None


def test_the_key_follows_what_decides_the_bytes(real_wheels) -> None:  # type: ignore[no-untyped-def]
    interpreter = find_interpreter("3.11")
    assert interpreter is not None
    wheel = sha256(real_wheels["six"])
    key = bytecode_key(wheel, VENV, interpreter=interpreter)
    assert key == bytecode_key(wheel, TargetVenv(python_version="3.11"), interpreter=interpreter)
    assert key != bytecode_key(wheel, TargetVenv(python_version="3.11", prefix=PurePosixPath("/opt/venv")), interpreter=interpreter)
    assert key != bytecode_key(wheel, VENV, interpreter=interpreter, optimize=(0, 1))
    assert key != bytecode_key("0" * 64, VENV, interpreter=interpreter)
