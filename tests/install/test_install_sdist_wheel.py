"""Wheels built from sdists with their real backends: isolated, normalized, kept by key."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from sdists import make_sdist

from layerplan.cache import Store
from layerplan.install import BuildError, ImpureWheelError
from layerplan.install import sdist_wheel as module
from layerplan.install.sdist_wheel import SdistWheel, wheel_from_sdist, wheel_key

PYPI = ("https://pypi.org/simple/",)

SETUP_PY = """
    from setuptools import setup
    setup(name="tinysdist", version="1.0", py_modules=["tinysdist"])
"""
# A setup.py that marks its wheel platform-specific without compiling anything.
IMPURE_SETUP_PY = """
    from setuptools import setup
    from setuptools.dist import Distribution
    class Binary(Distribution):
        def has_ext_modules(self):
            return True
    setup(name="tinysdist", version="1.0", py_modules=["tinysdist"], distclass=Binary)
"""
BROKEN_SETUP_PY = """
    raise RuntimeError("tinysdist cannot be built here, on purpose")
"""


def build(sdist: Path, store: Store, scratch: Path, *, indexes: tuple[str, ...] = PYPI) -> SdistWheel:
    scratch.mkdir(parents=True)
    sha = hashlib.sha256(sdist.read_bytes()).hexdigest()
    return wheel_from_sdist(
        sdist, name="tinysdist", version="1.0", sha256=sha, url=None, store=store.built_wheels, indexes=indexes, scratch=scratch
    )


def test_a_setup_py_sdist_is_built_once_then_taken_from_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sdist = make_sdist(tmp_path / "dist", {"setup.py": SETUP_PY})
    store = Store(tmp_path / "cache")
    first = build(sdist, store, tmp_path / "s1")
    assert not first.cached and first.wheel.name == "tinysdist-1.0-py3-none-any.whl"
    assert first.backend == "setuptools.build_meta:__legacy__"  # no pyproject.toml: PEP 517's fallback
    assert any(pin.startswith("setuptools==") for pin in first.build_requirements)
    assert first.indexes == PYPI
    assert first.wheel.parent.parent == tmp_path / "cache" / "built-wheels" and first.wheel.parent.name == first.key
    assert hashlib.sha256(first.wheel.read_bytes()).hexdigest() == first.wheel_sha256

    import build as build_package

    def no_backend(*args: object, **kwargs: object) -> None:
        raise AssertionError("the backend ran for a wheel the store has")

    monkeypatch.setattr(build_package.ProjectBuilder, "build", no_backend)
    monkeypatch.setattr(build_package.ProjectBuilder, "get_requires_for_build", no_backend)
    second = build(sdist, store, tmp_path / "s2")
    assert second.cached and second.wheel == first.wheel and second.wheel_sha256 == first.wheel_sha256
    assert second.build_requirements == first.build_requirements  # what the build that made it installed


def test_two_stores_get_the_same_wheel_bytes(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "dist", {"setup.py": SETUP_PY})
    one = build(sdist, Store(tmp_path / "cache-1"), tmp_path / "s1")
    two = build(sdist, Store(tmp_path / "cache-2"), tmp_path / "s2")
    assert not one.cached and not two.cached
    assert one.key == two.key and one.wheel.read_bytes() == two.wheel.read_bytes()


def test_a_pyproject_backend_and_its_declared_requirements(tmp_path: Path) -> None:
    pyproject = """
        [build-system]
        requires = ["flit_core>=3.4,<4"]
        build-backend = "flit_core.buildapi"
        [project]
        name = "tinysdist"
        version = "1.0"
        description = "tiny"
    """
    sdist = make_sdist(tmp_path / "dist", {"pyproject.toml": pyproject})
    built = build(sdist, Store(tmp_path / "cache"), tmp_path / "s")
    assert built.backend == "flit_core.buildapi"
    assert [pin.split("==")[0] for pin in built.build_requirements] == ["flit-core"]


def test_the_key_follows_what_decides_the_wheel() -> None:
    base = dict(sdist_sha256="a" * 64, backend="setuptools.build_meta", requirements=["setuptools==80.0"])
    key = wheel_key(**base)  # type: ignore[arg-type]
    assert key == wheel_key(**base)  # type: ignore[arg-type]
    assert key != wheel_key(**{**base, "sdist_sha256": "b" * 64})  # type: ignore[arg-type]
    assert key != wheel_key(**{**base, "requirements": ["setuptools==80.1"]})  # type: ignore[arg-type]
    assert key != wheel_key(**{**base, "backend": "flit_core.buildapi"})  # type: ignore[arg-type]
    assert key != wheel_key(**base, python_tag="cp311-cp311")  # type: ignore[arg-type]


def test_a_compiling_build_requirement_is_refused_before_anything_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pyproject = """
        [build-system]
        requires = ["setuptools>=61", "Cython>=3"]
        build-backend = "setuptools.build_meta"
    """
    sdist = make_sdist(tmp_path / "dist", {"pyproject.toml": pyproject, "setup.py": SETUP_PY})

    def no_resolution(*args: object, **kwargs: object) -> None:
        raise AssertionError("resolved the build requirements of an sdist that needs compiling")

    monkeypatch.setattr(module, "resolve_requirements", no_resolution)
    with pytest.raises(ImpureWheelError) as info:
        build(sdist, Store(tmp_path / "cache"), tmp_path / "s")
    text = str(info.value)
    assert "\n" not in text and text.startswith("tinysdist 1.0: tinysdist-1.0.tar.gz needs compiling")
    assert "cython" in text and "`layerplan dockerfile`" in text


def test_a_platform_specific_wheel_is_refused(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "dist", {"setup.py": IMPURE_SETUP_PY})
    store = Store(tmp_path / "cache")
    with pytest.raises(ImpureWheelError) as info:
        build(sdist, store, tmp_path / "s")
    text = str(info.value)
    assert "\n" not in text and text.startswith("tinysdist 1.0: tinysdist-1.0.tar.gz needs compiling")
    assert "platform-specific" in text and "`layerplan dockerfile`, which builds it in the image" in text
    assert store.report().of("built-wheels").count == 0


def test_a_failing_backend_is_one_line_ending_with_its_reason(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "dist", {"setup.py": BROKEN_SETUP_PY})
    with pytest.raises(BuildError) as info:
        build(sdist, Store(tmp_path / "cache"), tmp_path / "s")
    text = str(info.value)
    assert "\n" not in text and text.startswith("tinysdist 1.0: cannot build a wheel from tinysdist-1.0.tar.gz")
    assert text.endswith("RuntimeError: tinysdist cannot be built here, on purpose")


def test_build_requirements_come_from_the_indexes_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a hard-coded PyPI: with the lock's index unreachable, nothing is resolved elsewhere."""
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")  # a refused connection is final: no backoff to wait for
    sdist = make_sdist(tmp_path / "dist", {"setup.py": SETUP_PY})
    with pytest.raises(BuildError) as info:
        build(sdist, Store(tmp_path / "cache"), tmp_path / "s", indexes=("http://ci:s3cret@127.0.0.1:9/simple/",))
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("tinysdist 1.0: cannot resolve the build requirements of tinysdist-1.0.tar.gz")
    assert "on http://127.0.0.1:9/simple/" in text and "s3cret" not in text  # shown without its credentials


@pytest.mark.parametrize(
    ("files", "found"),
    [
        ({"setup.py": SETUP_PY, "src/speedups.c": "int x;"}, "C sources (src/speedups.c)"),
        ({"setup.py": SETUP_PY, "fast.pyx": "x = 1"}, "Cython sources (fast.pyx)"),
        ({"setup.py": SETUP_PY, "Cargo.toml": "[package]"}, "a Rust crate (Cargo.toml)"),
    ],
)
def test_native_sources_are_refused_before_a_host_compiler_runs(
    files: dict[str, str], found: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without this, a host with no Python headers would fail with a compiler error
    instead of saying the sdist needs compiling (which the direct build then does in a
    builder container)."""
    sdist = make_sdist(tmp_path / "dist", files)
    monkeypatch.setattr(module, "resolve_requirements", lambda *a, **k: pytest.fail("resolved"))
    with pytest.raises(ImpureWheelError, match=re.escape(f"needs compiling (it ships {found})")):
        build(sdist, Store(tmp_path / "cache"), tmp_path / "s")


def test_c_files_of_tests_and_docs_are_not_native_sources(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "dist", {"setup.py": SETUP_PY, "tests/fixture.c": "int x;", "docs/example.c": "int y;"})
    assert not build(sdist, Store(tmp_path / "cache"), tmp_path / "s").cached
