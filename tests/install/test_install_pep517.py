"""Building local projects' wheels with their real PEP 517 backends (isolated builds)."""

from __future__ import annotations

import hashlib
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from layerplan.install import BuildError, ImpureWheelError, build_wheel, is_pure, local_wheel

BACKENDS = {
    "hatchling": """
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "tiny-hatchling"
        version = "0.1.0"
        [project.scripts]
        tiny = "tiny_hatchling:main"
    """,
    "setuptools": """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "tiny-setuptools"
        version = "0.1.0"
        [tool.setuptools]
        packages = ["tiny_setuptools"]
    """,
    "poetry": """
        [build-system]
        requires = ["poetry-core>=1.0"]
        build-backend = "poetry.core.masonry.api"
        [tool.poetry]
        name = "tiny-poetry"
        version = "0.1.0"
        description = "tiny"
        authors = ["Someone <someone@example.com>"]
        packages = [{ include = "tiny_poetry" }]
    """,
    "pdm": """
        [build-system]
        requires = ["pdm-backend"]
        build-backend = "pdm.backend"
        [project]
        name = "tiny-pdm"
        version = "0.1.0"
    """,
    "flit": """
        [build-system]
        requires = ["flit_core>=3.4"]
        build-backend = "flit_core.buildapi"
        [project]
        name = "tiny_flit"
        version = "0.1.0"
        description = "tiny"
    """,
    "uv": """
        [build-system]
        requires = ["uv_build>=0.8,<0.14"]
        build-backend = "uv_build"
        [project]
        name = "tiny-uv"
        version = "0.1.0"
        [tool.uv.build-backend]
        module-root = ""
    """,
}


def _project(root: Path, backend: str, pyproject: str | None = None) -> Path:
    package = f"tiny_{backend}"
    project = root / f"tiny-{backend}"
    (project / package).mkdir(parents=True)
    (project / package / "__init__.py").write_text('"""tiny"""\ndef main():\n    print("hi")\n')
    (project / "pyproject.toml").write_text(textwrap.dedent(pyproject or BACKENDS[backend]))
    return project


@pytest.mark.parametrize("cached", [False, True], ids=["isolated", "cached-env"])
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_build_with_each_backend(tmp_path, backend, cached):  # type: ignore[no-untyped-def]
    """In a throwaway isolated environment and in a kept one (a direct build's): both put
    the environment's scripts on PATH, where uv_build finds its `uv-build`."""
    env_cache = tmp_path / "envs" if cached else None
    wheel = build_wheel(_project(tmp_path, backend), tmp_path / "out", env_cache=env_cache)
    assert wheel.parent == tmp_path / "out" and wheel.suffix == ".whl"
    assert wheel.name.startswith(f"tiny_{backend}-0.1.0-") and is_pure(wheel)
    with zipfile.ZipFile(wheel) as archive:
        assert f"tiny_{backend}/__init__.py" in archive.namelist()


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_builds_are_reproducible(tmp_path, backend):  # type: ignore[no-untyped-def]
    project = _project(tmp_path, backend)
    first = build_wheel(project, tmp_path / "one")
    (project / f"tiny_{backend}" / "__init__.py").touch()  # a new mtime must not matter
    second = build_wheel(project, tmp_path / "two")
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    with zipfile.ZipFile(first) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_platform_wheel_is_refused(tmp_path):  # type: ignore[no-untyped-def]
    project = _project(
        tmp_path,
        "hatchling",
        BACKENDS["hatchling"] + "\n        [tool.hatch.build.targets.wheel.hooks.custom]\n",
    )
    (project / "hatch_build.py").write_text(
        "from hatchling.builders.hooks.plugin.interface import BuildHookInterface\n"
        "class Impure(BuildHookInterface):\n"
        "    def initialize(self, version, build_data):\n"
        "        build_data['pure_python'] = False\n"
        "        build_data['infer_tag'] = True\n"
    )
    with pytest.raises(ImpureWheelError, match="tiny-hatchling: the built wheel .* is platform-specific") as caught:
        build_wheel(project, tmp_path / "out")
    assert "layerplan dockerfile" in str(caught.value)
    wheel = build_wheel(project, tmp_path / "out2", require_pure=False)
    assert not is_pure(wheel)


def test_failing_build_shows_the_end_of_its_output(tmp_path):  # type: ignore[no-untyped-def]
    project = _project(tmp_path, "setuptools")
    (project / "setup.py").write_text("raise SystemExit('the setup script is broken on purpose')\n")
    with pytest.raises(BuildError, match="tiny-setuptools: building the wheel failed") as caught:
        build_wheel(project, tmp_path / "out")
    assert "broken on purpose" in str(caught.value)


def test_missing_project(tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "empty").mkdir()
    with pytest.raises(BuildError, match="no pyproject.toml"):
        build_wheel(tmp_path / "empty")
    with pytest.raises(BuildError, match="does not exist"):
        local_wheel(tmp_path / "nothing.tar.gz")


def test_local_dependency_from_an_sdist_and_a_wheel(tmp_path):  # type: ignore[no-untyped-def]
    project = _project(tmp_path, "flit")
    sdist = tmp_path / "tiny_flit-0.1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        archive.add(project, arcname="tiny_flit-0.1.0")
    wheel = local_wheel(sdist, tmp_path / "out")
    assert wheel.name.startswith("tiny_flit-0.1.0-") and is_pure(wheel) and wheel.exists()
    assert local_wheel(wheel) == wheel


_BUILD_IN_SUBPROCESS = """
import sys
from pathlib import Path
if sys.argv[1] == "no-uv-package":
    sys.modules["uv"] = None  # `import uv` fails: as if only layerplan were installed
from layerplan.install.pep517 import build_wheel, find_installer
wheel = build_wheel(Path(sys.argv[2]), Path(sys.argv[3]), env_cache=Path(sys.argv[4]))
print(find_installer().kind, wheel.name)
"""


@pytest.mark.parametrize(
    ("case", "installer"),
    [("uv-package", "uv"), ("no-uv-package", "pip")],
    ids=["uv-from-its-package", "pip-fallback"],
)
def test_build_environment_needs_no_uv_on_path(tmp_path, case, installer):  # type: ignore[no-untyped-def]
    """A fresh machine: no `uv` on PATH (the venv is not activated). The uv package's own
    binary is used, and without the package, pip; never a FileNotFoundError."""
    import os
    import subprocess
    import sys

    project = _project(tmp_path, "hatchling")
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    env.pop("UV", None)
    done = subprocess.run(
        [sys.executable, "-c", _BUILD_IN_SUBPROCESS, case, str(project), str(tmp_path / "out"), str(tmp_path / "envs")],
        capture_output=True, text=True, env=env, check=False,
    )
    assert done.returncode == 0, done.stderr
    used, wheel = done.stdout.split()
    assert used == installer
    assert wheel.startswith("tiny_hatchling-0.1.0-") and wheel.endswith("-none-any.whl")


def test_a_cached_build_environment_is_one_store_entry_refreshed_on_use(tmp_path):  # type: ignore[no-untyped-def]
    """The environment lives in the store's build-envs area, whole, and each build that
    reuses it refreshes its mtime: that is its last use for `cache prune --older-than`."""
    import os

    from layerplan.cache import Store

    store = Store(tmp_path / "cache")
    project = _project(tmp_path, "flit")
    build_wheel(project, tmp_path / "one", env_cache=store.build_envs)
    (env,) = store.build_envs.iterdir()
    assert store.report().of("build-envs").count == 1 and store.report().of("temp").count == 0
    os.utime(env, (1_000_000_000, 1_000_000_000))
    build_wheel(project, tmp_path / "two", env_cache=store.build_envs)
    assert env.stat().st_mtime > 1_000_000_000
    assert store.prune(older_than_days=1).of("build-envs").count == 0


def test_the_callers_pythonpath_does_not_reach_the_backend(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """An isolated build: a PYTHONPATH holding an old setuptools (one without bdist_wheel)
    must not replace the build environment's own."""
    shadow = tmp_path / "shadow" / "setuptools"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('the caller PYTHONPATH reached the backend')\n")
    (shadow / "build_meta.py").write_text("raise ImportError('the caller PYTHONPATH reached the backend')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "shadow"))
    wheel = build_wheel(_project(tmp_path, "setuptools"), tmp_path / "out", env_cache=tmp_path / "envs")
    assert wheel.name.startswith("tiny_setuptools-0.1.0-")
