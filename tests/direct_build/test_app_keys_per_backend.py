"""Issue 11, keys that cover every input: the app layer of a direct build is keyed by the
wheel the project's own backend builds, so whatever a backend takes into its wheel (code,
package data, the readme in the wheel's metadata, setuptools' ``py-modules``) reaches the
image, and a warm cache gives the image a cold one gives. Checked for each build backend a
project may name, with a small real project generated here (no dependencies, a hand-written
uv.lock that holds just the project). Engine-free: the synthetic base; the backends come from
PyPI into layerplan's isolated build environments, at the major (or, for 0.x, minor) version
pinned below so a new backend release cannot change what is tested.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from synthbase import SyntheticBase

from tests.direct_build.helpers import build_json, layer_by_name

NAME = "keyapp"

COMMON = """\
[project]
name = "keyapp"
version = "0.1.0"
description = "A project whose every input must reach the image"
readme = "README.md"
requires-python = ">=3.10"
dependencies = []

[project.scripts]
keyapp = "keyapp:main"
"""

LOCK = """\
version = 1
revision = 3
requires-python = ">=3.10"

[[package]]
name = "keyapp"
version = "0.1.0"
source = { editable = "." }
"""

MODULE = '''\
"""keyapp: prints its value and its data file."""

from importlib.resources import files

VALUE = "v1"


def main() -> None:
    print(VALUE, files(__package__).joinpath("data.txt").read_text())
'''


@dataclass(frozen=True)
class Backend:
    build_system: str
    """The ``[build-system]`` table: the backend, pinned."""
    package: str = NAME
    """Where the package lives, relative to the project (uv_build wants ``src/``)."""
    extra: str = ""
    """More ``pyproject.toml``: the backend's own tables."""
    files: dict[str, str] = field(default_factory=dict)
    """More files (setuptools' ``py-modules`` module)."""


def build_system(requires: str, backend: str) -> str:
    return f'[build-system]\nrequires = ["{requires}"]\nbuild-backend = "{backend}"\n'


BACKENDS = {
    "hatchling": Backend(build_system("hatchling>=1.25,<2", "hatchling.build")),
    # Packages, a top-level module and package data, each by setuptools' own rules.
    "setuptools": Backend(
        build_system("setuptools>=69,<85", "setuptools.build_meta"),
        extra=textwrap.dedent("""\
            [tool.setuptools]
            packages = ["keyapp"]
            py-modules = ["helper"]

            [tool.setuptools.package-data]
            keyapp = ["*.txt"]
            """),
        files={"helper.py": 'HELPER = "v1"\n'},
    ),
    "flit-core": Backend(build_system("flit_core>=3.9,<4", "flit_core.buildapi")),
    "pdm-backend": Backend(build_system("pdm-backend>=2.3,<3", "pdm.backend")),
    # poetry-core 2 reads PEP 621's [project]; the package is found by the project's name.
    "poetry-core": Backend(build_system("poetry-core>=2,<3", "poetry.core.masonry.api")),
    "uv_build": Backend(build_system("uv_build>=0.13,<0.14", "uv_build"), package=f"src/{NAME}"),
}


def make_project(root: Path, backend: Backend) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(f"{COMMON}\n{backend.extra}\n{backend.build_system}")
    (root / "uv.lock").write_text(LOCK)
    (root / "README.md").write_text("# keyapp\n\nFirst readme.\n")
    package = root / backend.package
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(MODULE)
    (package / "data.txt").write_text("data v1\n")
    for path, text in backend.files.items():
        (root / path).write_text(text)
    return root


@pytest.mark.parametrize("name", list(BACKENDS))
def test_every_input_of_the_wheel_keys_the_app_layer(name: str, tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    """After each kind of change (a module's code, a package data file, the readme and, for
    setuptools, a ``py-modules`` module) a build with the warm cache gives the image a cold
    cache gives, that image differs from the one before the change, and its app layer is
    built anew."""
    backend = BACKENDS[name]
    project = make_project(tmp_path / "app", backend)
    base = synthetic_base.specs["oci"]

    def build(cache: str) -> dict[str, Any]:
        return build_json(project, base, f"oci:{tmp_path / cache / 'image'}", cache=tmp_path / cache)

    changes = [
        (f"{backend.package}/__init__.py", 'VALUE = "v1"', 'VALUE = "v2 - security fix"'),
        (f"{backend.package}/data.txt", "data v1", "data v2"),
        ("README.md", "First readme.", "Second readme."),
        *((path, '"v1"', '"v2"') for path in backend.files),
    ]
    previous = build("warm")
    problems = []
    for path, old, new in changes:
        text = (project / path).read_text()
        assert old in text, path
        (project / path).write_text(text.replace(old, new))
        warm = build("warm")
        cold = build(f"cold-{path.replace('/', '-')}")
        if warm["digest"] != cold["digest"]:
            problems.append(f"{path}: the warm cache gave {warm['digest']}, a cold one {cold['digest']}")
        if warm["digest"] == previous["digest"]:
            problems.append(f"{path}: the change did not reach the image")
        if layer_by_name(warm)["app"]["status"] != "built":
            problems.append(f"{path}: the app layer was {layer_by_name(warm)['app']['status']}, not built")
        previous = warm
    assert not problems, f"{name}: " + "; ".join(problems)
