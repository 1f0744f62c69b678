"""The fingerprint of a project's wheel inputs (issue 10, no-change path): it changes with
every input a backend reads (a source file, a data file, a new or deleted file, the
executable bit, the backend's configuration, the readme, also outside the project, the
build requirements and what the build environment holds) and not with anything else
(mtimes, .git, __pycache__, a venv, dist/, the lock, where the checkout is). Where it cannot
be a superset of the inputs (code run at build time, version control versions, paths out of
the project), there is none, and the project is always built.

Real project trees on disk; the build environment is a directory shaped like a kept one
(``lib/python3.11/site-packages/*.dist-info``). The end-to-end proof that a fingerprint hit
runs no backend and gives a cold build's image is tests/direct_build/test_no_change.py.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from layerplan.install.fingerprint import Fingerprint, source_fingerprint

EPOCH = 315532800

HATCH = """\
[project]
name = "fpapp"
version = "0.1.0"
readme = "README.md"

[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/fpapp"]
"""

SETUPTOOLS = """\
[project]
name = "fpapp"
version = "0.1.0"
readme = "README.md"

[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[tool.setuptools.package-data]
fpapp = ["*.txt"]
"""


def make_env(root: Path, *dists: str) -> Path:
    site = root / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    for dist in dists or ("hatchling-1.27.0",):
        (site / f"{dist}.dist-info").mkdir()
    return root


def make_project(root: Path, pyproject: str = HATCH) -> Path:
    (root / "src" / "fpapp").mkdir(parents=True)
    (root / "pyproject.toml").write_text(pyproject)
    (root / "README.md").write_text("# fpapp\n")
    (root / "src" / "fpapp" / "__init__.py").write_text('VALUE = "v1"\n')
    (root / "src" / "fpapp" / "data.txt").write_text("data v1\n")
    return root


def fingerprint(project: Path, env: Path) -> Fingerprint:
    return source_fingerprint(project, build_env=env, epoch=EPOCH, environ={})


def digest(project: Path, env: Path) -> str:
    found = fingerprint(project, env)
    assert found.digest is not None, found.why_not
    return found.digest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


CHANGES: dict[str, Callable[[Path], None]] = {
    "a source file": lambda p: edit(p / "src/fpapp/__init__.py", "v1", "v2"),
    "a data file": lambda p: edit(p / "src/fpapp/data.txt", "v1", "v2"),
    "a new file": lambda p: (p / "src/fpapp/new.py").write_text(""),
    "a new file in a package called build": lambda p: (p / "src/fpapp/build").mkdir() or (p / "src/fpapp/build/x.py").write_text(""),
    "a deleted file": lambda p: (p / "src/fpapp/data.txt").unlink(),
    "the executable bit": lambda p: (p / "src/fpapp/__init__.py").chmod(0o755),
    "the backend's configuration": lambda p: edit(p / "pyproject.toml", 'packages = ["src/fpapp"]', 'packages = ["src/fpapp"]\nexclude = ["*.txt"]'),
    "the readme": lambda p: edit(p / "README.md", "fpapp", "fpapp 2"),
    "the build requirements": lambda p: edit(p / "pyproject.toml", "hatchling>=1.25", "hatchling>=1.26"),
    "a file the .gitignore names": lambda p: (p / ".gitignore").write_text("data.txt\n"),
    "a rename": lambda p: (p / "src/fpapp/data.txt").rename(p / "src/fpapp/data2.txt"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_input_changes_the_fingerprint(change: str, tmp_path: Path) -> None:
    project = make_project(tmp_path / "app")
    env = make_env(tmp_path / "env")
    before = digest(project, env)
    CHANGES[change](project)
    assert digest(project, env) != before, change


NOT_INPUTS: dict[str, Callable[[Path], None]] = {
    "touch (mtime only)": lambda p: os.utime(p / "src/fpapp/__init__.py", (1, 1)),
    "a rewrite with the same bytes": lambda p: (p / "src/fpapp/__init__.py").write_text('VALUE = "v1"\n'),
    ".git": lambda p: (p / ".git" / "objects").mkdir(parents=True) or (p / ".git" / "HEAD").write_text("ref: x\n"),
    "__pycache__": lambda p: (p / "src/fpapp/__pycache__").mkdir() or (p / "src/fpapp/__pycache__/x.pyc").write_bytes(b"\0"),
    "a virtual environment": lambda p: (p / ".venv").mkdir() or (p / ".venv/pyvenv.cfg").write_text("home = /usr\n"),
    "a venv under another name": lambda p: (p / "env311").mkdir() or (p / "env311/pyvenv.cfg").write_text("x\n"),
    "dist/": lambda p: (p / "dist").mkdir() or (p / "dist/fpapp-0.1.0.whl").write_bytes(b"PK"),
    "build/ at the top": lambda p: (p / "build/lib").mkdir(parents=True) or (p / "build/lib/x.py").write_text(""),
    "egg-info": lambda p: (p / "src/fpapp.egg-info").mkdir() or (p / "src/fpapp.egg-info/PKG-INFO").write_text("x"),
    "pdm-backend's .pdm-build": lambda p: (p / ".pdm-build").mkdir() or (p / ".pdm-build/METADATA").write_text("x"),
    "the lock": lambda p: (p / "uv.lock").write_text("version = 1\n"),
    "a tool cache": lambda p: (p / ".mypy_cache").mkdir() or (p / ".mypy_cache/x.json").write_text("{}"),
}


@pytest.mark.parametrize("change", list(NOT_INPUTS))
def test_what_no_backend_reads_does_not(change: str, tmp_path: Path) -> None:
    project = make_project(tmp_path / "app")
    env = make_env(tmp_path / "env")
    before = digest(project, env)
    NOT_INPUTS[change](project)
    assert digest(project, env) == before, change


def test_a_fresh_clone_elsewhere_has_the_same_fingerprint(tmp_path: Path) -> None:
    project = make_project(tmp_path / "app")
    env = make_env(tmp_path / "env")
    clone = Path(shutil.copytree(project, tmp_path / "elsewhere" / "clone"))  # new mtimes, inodes, path
    assert digest(clone, env) == digest(project, env)


def test_the_build_environment_and_epoch_count(tmp_path: Path) -> None:
    """The backend's version (what the kept environment holds) and SOURCE_DATE_EPOCH decide the wheel's bytes."""
    project = make_project(tmp_path / "app")
    old = digest(project, make_env(tmp_path / "a" / "k1", "hatchling-1.27.0"))
    assert digest(project, make_env(tmp_path / "b" / "k1", "hatchling-1.28.0")) != old
    assert digest(project, make_env(tmp_path / "c" / "k1", "hatchling-1.27.0", "pathspec-0.12.1")) != old
    env = make_env(tmp_path / "d" / "k1", "hatchling-1.27.0")
    assert digest(project, env) == old
    assert source_fingerprint(project, build_env=env, epoch=EPOCH + 1, environ={}).digest != old
    assert source_fingerprint(project, build_env=env, epoch=EPOCH, environ={"SETUPTOOLS_USE_DISTUTILS": "stdlib"}).digest != old
    assert source_fingerprint(project, build_env=env, epoch=EPOCH, environ={"HOME": "/elsewhere"}).digest == old


def test_a_readme_outside_the_project_is_an_input(tmp_path: Path) -> None:
    """``readme = "../README.md"`` (a workspace member sharing the root's readme)."""
    project = make_project(tmp_path / "repo" / "app", HATCH.replace('readme = "README.md"', 'readme = "../README.md"'))
    (tmp_path / "repo" / "README.md").write_text("shared v1\n")
    env = make_env(tmp_path / "env")
    found = fingerprint(project, env)
    assert found.digest is not None and found.outside == ("../README.md",)
    edit(tmp_path / "repo" / "README.md", "v1", "v2")
    assert digest(project, env) != found.digest


def test_hatch_force_include_outside_the_project_is_an_input(tmp_path: Path) -> None:
    pyproject = HATCH + '\n[tool.hatch.build.targets.wheel.force-include]\n"../shared" = "fpapp/shared"\n'
    project = make_project(tmp_path / "repo" / "app", pyproject)
    (tmp_path / "repo" / "shared").mkdir()
    (tmp_path / "repo" / "shared" / "one.txt").write_text("1\n")
    env = make_env(tmp_path / "env")
    before = digest(project, env)
    (tmp_path / "repo" / "shared" / "two.txt").write_text("2\n")
    assert digest(project, env) != before


def test_the_nearest_gitignore_above_the_project_is_an_input(tmp_path: Path) -> None:
    """hatchling excludes what the repository root's .gitignore ignores, also for a member below it."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    project = make_project(tmp_path / "repo" / "packages" / "app")
    env = make_env(tmp_path / "env")
    before = digest(project, env)
    (tmp_path / "repo" / ".gitignore").write_text("*.txt\n")
    assert digest(project, env) != before


def test_setuptools_project(tmp_path: Path) -> None:
    project = make_project(tmp_path / "app", SETUPTOOLS)
    env = make_env(tmp_path / "env", "setuptools-80.9.0")
    before = digest(project, env)
    (project / "build" / "lib" / "fpapp").mkdir(parents=True)  # what setuptools itself leaves
    (project / "build" / "lib" / "fpapp" / "__init__.py").write_text("old\n")
    assert digest(project, env) == before
    edit(project / "src/fpapp/data.txt", "v1", "v2")
    assert digest(project, env) != before


def test_build_is_an_input_when_the_configuration_names_it(tmp_path: Path) -> None:
    pyproject = HATCH + '\n[tool.hatch.build.targets.wheel.force-include]\n"build/generated.py" = "fpapp/generated.py"\n'
    project = make_project(tmp_path / "app", pyproject)
    (project / "build").mkdir()
    (project / "build" / "generated.py").write_text("v1\n")
    env = make_env(tmp_path / "env")
    before = digest(project, env)
    edit(project / "build" / "generated.py", "v1", "v2")
    assert digest(project, env) != before


NO_FINGERPRINT: dict[str, tuple[Callable[[Path], None], str]] = {
    "setup.py": (lambda p: (p / "setup.py").write_text("from setuptools import setup\nsetup()\n"), "setup.py"),
    "an in-tree backend": (
        lambda p: edit(p / "pyproject.toml", 'build-backend = "hatchling.build"', 'build-backend = "hatchling.build"\nbackend-path = ["."]'),
        "in-tree backend",
    ),
    "a version from git": (lambda p: edit(p / "pyproject.toml", '"hatchling>=1.25"', '"hatchling>=1.25", "hatch-vcs"'), "hatch-vcs"),
    "a hatch build hook": (lambda p: (p / "hatch_build.py").write_text(""), "hook"),
    "an unknown backend": (lambda p: edit(p / "pyproject.toml", '"hatchling.build"', '"mybackend.api"'), "mybackend.api"),
    "a path out of the project": (
        lambda p: edit(p / "pyproject.toml", 'packages = ["src/fpapp"]', 'packages = ["src/fpapp", "../other/pkg"]'),
        "../other/pkg",
    ),
    "a link out of the project": (lambda p: (p / "src/fpapp/secret").symlink_to("/etc"), "leads out"),
}


@pytest.mark.parametrize("case", list(NO_FINGERPRINT))
def test_no_fingerprint_where_it_cannot_see_every_input(case: str, tmp_path: Path) -> None:
    project = make_project(tmp_path / "app")
    change, why = NO_FINGERPRINT[case]
    change(project)
    found = fingerprint(project, make_env(tmp_path / "env"))
    assert found.digest is None and why in found.why_not, found


def test_a_special_file_is_never_read(tmp_path: Path) -> None:
    """A FIFO in the tree would block a read forever: it counts by its kind only."""
    project = make_project(tmp_path / "app")
    os.mkfifo(project / "src" / "fpapp" / "pipe")
    assert fingerprint(project, make_env(tmp_path / "env")).digest is not None


def test_hatch_anchored_patterns_are_not_paths_out(tmp_path: Path) -> None:
    """hatch's ``/tests`` means the project's own tests directory."""
    pyproject = HATCH + textwrap.dedent("""
        [tool.hatch.build.targets.sdist]
        exclude = ["/tests", "/tmp"]
        """)
    project = make_project(tmp_path / "app", pyproject)
    assert fingerprint(project, make_env(tmp_path / "env")).digest is not None


def test_a_project_too_big_to_read_every_build_has_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a repository's data or a nested node_modules on every build would cost more
    than the backend: past the limits (lowered here) there is no fingerprint."""
    import layerplan.install.fingerprint as fingerprint_module

    project = make_project(tmp_path / "app")
    env = make_env(tmp_path / "env")
    monkeypatch.setattr(fingerprint_module, "MAX_FILES", 3)
    assert "more than 3 files" in fingerprint(project, env).why_not
    monkeypatch.setattr(fingerprint_module, "MAX_FILES", 100)
    monkeypatch.setattr(fingerprint_module, "MAX_BYTES", 10)
    assert "MiB" in fingerprint(project, env).why_not
