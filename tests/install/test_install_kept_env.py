"""The kept build environment of a local project (install/kept_env.py): its hooks cache their
bytecode in it, and are called through layerplan's own driver (install/hooks.py), which
must build the bytes ``build``/``pyproject_hooks`` build in the same environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from layerplan.cache.built_wheels import BuiltWheels
from layerplan.install import BuildError, build_wheel
from layerplan.install.build_env import backend_environ
from layerplan.install.hook_bytecode import BYTECODE_DIR
from layerplan.install.pep517 import backend_runner, kept_build_env, kept_env_dir
from layerplan.install.project_wheel import project_wheel
from tests.install.test_install_pep517 import BACKENDS, _project

EPOCH = 1_700_000_000
#: the top-level package of each backend's modules in its environment
BACKEND_PACKAGE = {
    "hatchling": "hatchling", "setuptools": "setuptools", "poetry": "poetry", "pdm": "pdm", "flit": "flit_core",
    "uv": "uv_build",
}  # fmt: skip


def _with_build(project: Path, python: Path, out: Path) -> Path:
    """The wheel ``build`` (and ``pyproject_hooks``' subprocess) builds in the environment of
    ``python``, with the environment ``build_wheel`` gives a backend."""
    import build

    path = os.pathsep.join([str(python.parent), os.environ.get("PATH", "")])
    runner = backend_runner(EPOCH, environ={"PATH": path})
    return Path(build.ProjectBuilder(project, python_executable=str(python), runner=runner).build("wheel", out))


def _site_packages(env: Path) -> Path:
    (site,) = env.glob("lib/python*/site-packages")
    return site


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_the_driver_builds_the_bytes_build_does(tmp_path: Path, backend: str) -> None:
    """For each backend: the same wheel, byte for byte, as `build` calling it through
    pyproject_hooks in the same kept environment, with the same SOURCE_DATE_EPOCH."""
    project = _project(tmp_path, backend)
    (project / "README.md").write_text("# tiny\n")
    ours = build_wheel(project, tmp_path / "ours", env_cache=tmp_path / "envs", source_date_epoch=EPOCH)
    python = kept_build_env(tmp_path / "envs", project, source_date_epoch=EPOCH)
    theirs = _with_build(project, python, tmp_path / "theirs")
    assert ours.name == theirs.name
    assert ours.read_bytes() == theirs.read_bytes()


def _pycs(directory: Path) -> dict[Path, tuple[int, int]]:
    """Each pyc under ``directory`` (a link counts as one) with its inode and mtime."""
    return {p: (p.lstat().st_ino, p.lstat().st_mtime_ns) for p in directory.rglob("*.pyc")}


def _linked_from_stdlib(prefix: Path) -> bool:
    """The prefix's pyc of ``json`` is the standard library's own (a hard or symbolic link)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    name = f"__init__.{sys.implementation.cache_tag}.pyc"
    mirror = prefix / str(stdlib).lstrip("/") / "json" / name
    return mirror.is_file() and os.path.samefile(mirror, stdlib / "json" / "__pycache__" / name)


def test_hooks_cache_the_bytecode_they_import_in_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With PYTHONDONTWRITEBYTECODE set (as here and in many CI images), the backend's hooks
    still cache the bytecode of what they import, in the environment's `pycache/` prefix and
    nowhere else: not in the project's tree, although setuptools imports the project's
    module for its `attr:` version. A second build compiles nothing: no pyc is written
    again. The standard library's own pycs are linked there when the environment is made."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    project = _project(tmp_path, "setuptools")
    pyproject = (project / "pyproject.toml").read_text()
    pyproject = pyproject.replace('version = "0.1.0"', 'dynamic = ["version"]')
    pyproject += '\n[tool.setuptools.dynamic]\nversion = {attr = "tiny_setuptools.__version__"}\n'
    (project / "pyproject.toml").write_text(pyproject)
    # Not a literal: setuptools must import the module to read it
    (project / "tiny_setuptools" / "__init__.py").write_text('__version__ = ".".join(["0", "1", "0"])\n')
    first = build_wheel(project, tmp_path / "one", env_cache=tmp_path / "envs", source_date_epoch=EPOCH)
    assert first.name == "tiny_setuptools-0.1.0-py3-none-any.whl"
    (env,) = (tmp_path / "envs").iterdir()
    prefix = env / BYTECODE_DIR
    tag = sys.implementation.cache_tag
    cached = _pycs(prefix)
    site = _site_packages(env)
    assert (prefix / str(site).lstrip("/") / "setuptools" / f"__init__.{tag}.pyc").is_file()
    assert (prefix / str(project).lstrip("/") / "tiny_setuptools" / f"__init__.{tag}.pyc").is_file()
    assert _linked_from_stdlib(prefix)
    assert list(project.rglob("__pycache__")) == [] and list(site.rglob("__pycache__")) == []

    second = build_wheel(project, tmp_path / "two", env_cache=tmp_path / "envs", source_date_epoch=EPOCH)
    assert second.read_bytes() == first.read_bytes()
    # read, none compiled and written again; but the project's own, which may have changed
    mirror = prefix / str(project).lstrip("/")
    assert {p: v for p, v in _pycs(prefix).items() if mirror not in p.parents} == {
        p: v for p, v in cached.items() if mirror not in p.parents
    }
    assert list(project.rglob("__pycache__")) == []


def test_an_edit_in_the_same_second_is_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module of the project the backend imports (setuptools' `attr:` version), edited to
    the same size within the same second (a script that edits and builds): Python would take
    the pyc of the first build as current (it checks size and mtime in seconds). The wheel
    has the new version, and so has the one kept under its fingerprint."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    project = _project(tmp_path, "setuptools")
    pyproject = (project / "pyproject.toml").read_text().replace('version = "0.1.0"', 'dynamic = ["version"]')
    pyproject += '\n[tool.setuptools.dynamic]\nversion = {attr = "tiny_setuptools.__version__"}\n'
    (project / "pyproject.toml").write_text(pyproject)
    module = project / "tiny_setuptools" / "__init__.py"
    module.write_text('__version__ = ".".join(["0", "1", "0"])\n')  # not a literal: imported
    store = BuiltWheels(tmp_path / "built")
    first = project_wheel(project, tmp_path / "one", env_cache=tmp_path / "envs", store=store, source_date_epoch=EPOCH)
    assert first.path.name == "tiny_setuptools-0.1.0-py3-none-any.whl"
    stamp = module.stat().st_mtime_ns
    module.write_text('__version__ = ".".join(["0", "1", "1"])\n')
    os.utime(module, ns=(stamp, stamp))  # the same second

    second = project_wheel(project, tmp_path / "two", env_cache=tmp_path / "envs", store=store, source_date_epoch=EPOCH)

    assert second.path.name == "tiny_setuptools-0.1.1-py3-none-any.whl"
    module.touch()  # another time: the fingerprint finds the wheel kept for these sources
    third = project_wheel(project, tmp_path / "three", env_cache=tmp_path / "envs", store=store, source_date_epoch=EPOCH)
    assert third.cached and third.path.name == "tiny_setuptools-0.1.1-py3-none-any.whl"


def test_the_backend_runs_from_its_pycs(tmp_path: Path) -> None:
    """After a build, a hatchling hook compiles none of the environment's or the standard
    library's modules (`python -v` names the file each module's code comes from: a source
    it compiled, or a pyc)."""
    project = _project(tmp_path, "hatchling")
    build_wheel(project, tmp_path / "one", env_cache=tmp_path / "envs")
    python = kept_build_env(tmp_path / "envs", project)
    env = python.parent.parent
    (tmp_path / "out").mkdir()
    environ = backend_environ(EPOCH, bytecode_cache=env / BYTECODE_DIR)
    done = subprocess.run(
        [str(python), "-v", "-c", f"import hatchling.build as b; b.build_wheel({str(tmp_path / 'out')!r})"],
        cwd=project, capture_output=True, text=True, check=True, env=environ,
    )  # fmt: skip
    loaded = [line for line in done.stderr.splitlines() if line.startswith("# code object from")]
    assert len([line for line in loaded if str(_site_packages(env)) in line]) > 50  # hatchling, packaging, pluggy...
    assert [line for line in loaded if not line.endswith(".pyc'")] == []


def test_an_environment_an_older_layerplan_made_gets_its_bytecode_cache(tmp_path: Path) -> None:
    """A kept environment made before hooks cached their bytecode (no `pycache/`) is used as
    it is; its next build links the standard library's pycs and caches the backend's."""
    project = _project(tmp_path, "hatchling")
    first = build_wheel(project, tmp_path / "one", env_cache=tmp_path / "envs", source_date_epoch=EPOCH)
    (env,) = (tmp_path / "envs").iterdir()
    shutil.rmtree(env / BYTECODE_DIR)
    (env / ".bytecode").touch()  # an older layerplan's marker: not read any more
    again = build_wheel(project, tmp_path / "two", env_cache=tmp_path / "envs", source_date_epoch=EPOCH)
    assert again.read_bytes() == first.read_bytes()
    assert _linked_from_stdlib(env / BYTECODE_DIR)
    assert any("hatchling" in p.parts for p in _pycs(env / BYTECODE_DIR))


def test_an_in_tree_backend_from_backend_path(tmp_path: Path) -> None:
    """`backend-path`: the backend module comes from the project, and still builds the bytes
    `build` builds."""
    project = _project(tmp_path, "flit")
    pyproject = (project / "pyproject.toml").read_text()
    pyproject = pyproject.replace('build-backend = "flit_core.buildapi"', 'build-backend = "intree"\nbackend-path = ["_custom"]')
    (project / "pyproject.toml").write_text(pyproject)
    (project / "_custom").mkdir()
    (project / "_custom" / "intree.py").write_text("from flit_core.buildapi import *  # noqa: F403\n")
    ours = build_wheel(project, tmp_path / "ours", env_cache=tmp_path / "envs", source_date_epoch=EPOCH)
    theirs = _with_build(project, kept_build_env(tmp_path / "envs", project), tmp_path / "theirs")
    assert ours.read_bytes() == theirs.read_bytes()
    with zipfile.ZipFile(ours) as archive:
        assert "tiny_flit/__init__.py" in archive.namelist()


def test_a_backend_path_outside_the_project_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path, "flit")
    pyproject = (project / "pyproject.toml").read_text().replace('build-backend = "flit_core.buildapi"', 'build-backend = "x"\nbackend-path = [".."]')
    (project / "pyproject.toml").write_text(pyproject)
    with pytest.raises(BuildError, match=r"tiny_flit: \[build-system\] backend-path '..' is outside the project"):
        build_wheel(project, tmp_path / "out", env_cache=tmp_path / "envs")


def test_a_backend_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    project = _project(tmp_path, "flit")
    pyproject = (project / "pyproject.toml").read_text().replace("flit_core.buildapi", "flit_core.no_such_api")
    (project / "pyproject.toml").write_text(pyproject)
    with pytest.raises(BuildError) as caught:
        build_wheel(project, tmp_path / "out", env_cache=tmp_path / "envs")
    message = str(caught.value)
    assert "\n" not in message
    assert "tiny_flit: building the wheel failed: backend 'flit_core.no_such_api' is not available" in message
    assert "No module named 'flit_core.no_such_api'" in message


def test_a_failing_backend_says_why_in_one_line(tmp_path: Path) -> None:
    """The kept environment's path: the backend's last line, as the isolated one gives."""
    project = _project(tmp_path, "setuptools")
    (project / "setup.py").write_text("raise SystemExit('the setup script is broken on purpose')\n")
    with pytest.raises(BuildError, match="tiny-setuptools: building the wheel failed: .*broken on purpose") as caught:
        build_wheel(project, tmp_path / "out", env_cache=tmp_path / "envs")
    assert "\n" not in str(caught.value)


def test_a_backend_that_ends_the_process_itself_is_one_line(tmp_path: Path) -> None:
    """A setup.py that exits with status 0 while the backend runs leaves no answer: one line
    saying so, not a traceback."""
    project = _project(tmp_path, "setuptools")
    (project / "setup.py").write_text("import os\nprint('leaving early', flush=True)\nos._exit(0)\n")
    with pytest.raises(BuildError) as caught:
        build_wheel(project, tmp_path / "out", env_cache=tmp_path / "envs")
    message = str(caught.value)
    assert "\n" not in message
    assert "exited during get_requires_for_build_wheel without an answer: leaving early" in message


@pytest.mark.parametrize("asks", [[], ["tomli-w"]])
def test_a_first_build_asks_and_builds_in_one_backend_process(tmp_path: Path, asks: list[str]) -> None:
    """A first build asks `get_requires_for_build_wheel` and, when the backend wants nothing
    more, builds in the same process: one backend start. When it wants more, that is
    installed and the wheel built in a second process; a rebuild is one process either way."""
    project = _project(tmp_path, "flit")
    pyproject = (project / "pyproject.toml").read_text()
    pyproject = pyproject.replace('build-backend = "flit_core.buildapi"', 'build-backend = "intree"\nbackend-path = ["_custom"]')
    (project / "pyproject.toml").write_text(pyproject)
    (project / "_custom").mkdir()
    (project / "_custom" / "intree.py").write_text(
        "from pathlib import Path\n"
        "from flit_core.buildapi import *  # noqa: F403\n"
        "with open(Path(__file__).parents[1] / 'starts.log', 'a') as log:\n"
        "    log.write('start\\n')\n"
        f"def get_requires_for_build_wheel(config_settings=None):\n    return {asks!r}\n"
    )
    starts = project / "starts.log"
    first = build_wheel(project, tmp_path / "one", env_cache=tmp_path / "envs", source_date_epoch=EPOCH)
    assert starts.read_text().count("start") == (1 if not asks else 2)
    (env,) = (tmp_path / "envs").iterdir()
    installed = {p.name.split("-")[0].lower() for p in _site_packages(env).glob("*.dist-info")}
    assert ("tomli_w" in installed) == bool(asks)
    again = build_wheel(project, tmp_path / "two", env_cache=tmp_path / "envs", source_date_epoch=EPOCH)
    assert starts.read_text().count("start") == (2 if not asks else 3)
    assert first.read_bytes() == again.read_bytes()


def test_a_first_project_wheel_starts_the_backend_once(tmp_path: Path) -> None:
    """`project_wheel` (a direct build's app wheel) on a fresh runner: the environment is made
    for the fingerprint without asking the backend anything, so the build asks and builds in
    one backend process; the next builds find the wheel by its fingerprint and start none."""
    project = _project(tmp_path, "hatchling")
    env = kept_env_dir(tmp_path / "envs", project)
    starts = tmp_path / "starts.log"
    # Every start of the environment's interpreter runs its sitecustomize
    (_site_packages(env) / "sitecustomize.py").write_text(f"open({str(starts)!r}, 'a').write('start\\n')\n")
    assert not starts.exists()
    store = BuiltWheels(tmp_path / "built")
    built = [project_wheel(project, tmp_path / f"out{n}", env_cache=tmp_path / "envs", store=store, source_date_epoch=EPOCH)
             for n in range(3)]  # fmt: skip
    assert [wheel.cached for wheel in built] == [False, True, True]
    assert starts.read_text().count("start") == 1
    assert len({wheel.path.read_bytes() for wheel in built}) == 1


def test_a_cache_inside_the_project_keeps_the_backend_s_bytecode(tmp_path: Path) -> None:
    """A `--cache-dir` inside the project: the project's pycs are dropped before a hook, not
    those of the environment's own modules, which lie in the project's tree too."""
    project = _project(tmp_path, "hatchling")
    envs = project / ".layerplan-cache" / "build-envs"
    build_wheel(project, tmp_path / "one", env_cache=envs, source_date_epoch=EPOCH)
    (env,) = envs.iterdir()
    prefix = env / BYTECODE_DIR
    backend = [p for p in _pycs(prefix) if "hatchling" in p.parts]
    assert backend
    stale = prefix / str(project).lstrip("/") / "tiny_hatchling" / f"old.{sys.implementation.cache_tag}.pyc"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.touch()
    kept = {p: v for p, v in _pycs(prefix).items() if p in backend}

    build_wheel(project, tmp_path / "two", env_cache=envs, source_date_epoch=EPOCH)

    assert not stale.exists()
    assert {p: v for p, v in _pycs(prefix).items() if p in backend} == kept  # read, not compiled again


def test_a_link_in_the_bytecode_cache_is_not_followed(tmp_path: Path) -> None:
    """A directory link in the environment's `pycache/` (a damaged cache: Python makes none)
    on the way to the project's pycs: what it points to is left alone."""
    project = _project(tmp_path, "hatchling")
    build_wheel(project, tmp_path / "one", env_cache=tmp_path / "envs", source_date_epoch=EPOCH)
    (env,) = (tmp_path / "envs").iterdir()
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "tiny-hatchling").mkdir(parents=True)
    (elsewhere / "tiny-hatchling" / "keep.txt").write_text("mine")
    mirror_parent = env / BYTECODE_DIR / str(project.parent).lstrip("/")
    shutil.rmtree(mirror_parent)
    mirror_parent.symlink_to(elsewhere)

    build_wheel(project, tmp_path / "two", env_cache=tmp_path / "envs", source_date_epoch=EPOCH)

    assert (elsewhere / "tiny-hatchling" / "keep.txt").read_text() == "mine"
