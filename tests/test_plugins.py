"""The plugin manager: built-in lock readers load only to read their format's file, and a
third-party plugin installed as a distribution is found by its entry point."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from layerplan.lockfiles.format import LockFormat
from layerplan.plugins import BUILTIN_LOCK_FORMATS, BUILTIN_PLUGINS

PROBE = """\
import json, sys
from pathlib import Path
from layerplan.lockfiles import find_lock
from layerplan.planning import available_formats
formats = available_formats()
path, chosen = find_lock(Path(sys.argv[1]), formats)
lock = chosen.read(path)
print(json.dumps({
    "formats": sorted(f.name for f in formats),
    "chosen": chosen.name,
    "packages": sorted(p.name for p in lock.packages),
    "readers": sorted(m for m in sys.modules if m.startswith("layerplan.lockfiles.") and m.rsplit(".", 1)[1]
                      in ("uv", "pylock", "poetry", "pdm", "pipfile", "requirements")),
    "plugins": sorted(m for m in sys.modules if m == "condalock_plugin"),
}))
"""

PLUGIN = """\
from layerplan.hookspecs import hookimpl
from layerplan.lockfiles import Lock, LockFormat


def read(path):
    return Lock(path=path, format="conda-lock", packages=(), graph=False)


@hookimpl
def layerplan_lock_formats():
    return [LockFormat(name="conda-lock", filenames=("conda-lock.yml",), read=read, priority=5)]
"""

UV_LOCK = """\
version = 1
requires-python = ">=3.11"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
"""


def probe(project: Path, *extra_path: Path) -> dict[str, list[str] | str]:
    """Find and read ``project``'s lock in a new interpreter with ``extra_path`` on sys.path."""
    path = os.pathsep.join([*map(str, extra_path), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(project)], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": path},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str] | str] = json.loads(done.stdout)
    return result


def install_plugin(site: Path, entry_points: str) -> None:
    """A distribution as pip installs it: the module and its ``.dist-info``."""
    info = site / "condalock_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "condalock_plugin.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: condalock-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0.1.0"\n')
    (root / "uv.lock").write_text(UV_LOCK)
    (root / "conda-lock.yml").write_text("package: []\n")
    return root


@pytest.mark.parametrize("plugin_name", sorted(BUILTIN_LOCK_FORMATS))
def test_the_builtin_table_says_what_each_reader_says(plugin_name: str) -> None:
    (own,) = importlib.import_module(BUILTIN_PLUGINS[plugin_name]).layerplan_lock_formats()
    assert isinstance(own, LockFormat)
    assert BUILTIN_LOCK_FORMATS[plugin_name] == (own.name, own.filenames, own.priority, own.explicit_filenames)


def test_every_builtin_reader_is_in_the_table() -> None:
    readers = {name for name, module in BUILTIN_PLUGINS.items() if module.startswith("layerplan.lockfiles.")}
    assert readers == set(BUILTIN_LOCK_FORMATS)


def test_reading_a_uv_lock_loads_only_the_uv_reader(project: Path) -> None:
    found = probe(project)
    assert found["formats"] == ["pdm", "pipfile", "poetry", "pylock", "requirements", "uv"]
    assert found["chosen"] == "uv" and found["packages"] == ["app"]
    assert found["readers"] == ["layerplan.lockfiles.uv"]


def test_a_third_party_reader_is_found_by_its_entry_point(project: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_plugin(site, "[console_scripts]\nx = y:z\n\n[layerplan]\nconda-lock = condalock_plugin\n")
    found = probe(project, site)
    assert "conda-lock" in found["formats"] and found["plugins"] == ["condalock_plugin"]
    assert found["chosen"] == "conda-lock", "its priority 5 beats uv.lock's 10"


def test_an_entry_point_with_a_builtin_name_is_skipped_as_before(project: Path, tmp_path: Path) -> None:
    """pluggy skips an entry point named like a registered plugin; so is this one."""
    site = tmp_path / "site"
    install_plugin(site, "[layerplan]\nuv-lock = condalock_plugin\n")
    found = probe(project, site)
    assert found["chosen"] == "uv" and "conda-lock" not in found["formats"] and found["plugins"] == []


def test_an_entry_point_in_another_group_is_no_plugin(project: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_plugin(site, "[layerplan.other]\nconda-lock = condalock_plugin\n# [layerplan]\n")
    found = probe(project, site)
    assert found["chosen"] == "uv" and found["plugins"] == []
