"""The inputs the fuzzer starts from: real files written by the real tools, per format.

Each format has a few seed files (from ``tests/fixtures/locks``, written by uv, Poetry,
PDM, pipenv, pip-compile...), parsed into plain data (a TOML or JSON tree; a
requirements file as lines of tokens) and trimmed: long arrays keep a few entries (the
first ones and the unusual ones: local, git, URL and editable sources), so one case
serializes in milliseconds while every shape the tool writes is still there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli

__all__ = ["FORMATS", "PYPROJECTS", "Format", "Seed"]

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "tests" / "fixtures" / "locks"

_KEEP = 3
"""Items kept from a long array (plus the unusual ones, for arrays of packages)."""


@dataclass(frozen=True)
class Seed:
    """One real file: where it lives (its directory is copied, for relative paths), its
    text, and its trimmed tree."""

    path: Path
    text: str
    tree: Any


@dataclass(frozen=True)
class Format:
    """A file format the fuzzer writes: its file name, how a tree becomes text, its seeds."""

    name: str
    filename: str
    kind: str
    """``toml``, ``json`` or ``lines`` (a requirements file)."""
    seeds: tuple[Seed, ...]


def _interesting(entry: Any) -> bool:
    """A package entry whose source is not a plain index (these shapes are rare: keep them)."""
    if not isinstance(entry, Mapping):
        return False
    text = json.dumps(entry, default=str)
    return any(word in text for word in ('"git', '"path"', '"directory"', '"editable"', '"url"', '"virtual"', '"file"'))


def trim(value: Any) -> Any:
    """``value`` with every long array cut to a few entries (unusual package entries kept)."""
    if isinstance(value, dict):
        return {key: trim(item) for key, item in value.items()}
    if isinstance(value, list):
        kept = value[:_KEEP] + [item for item in value[_KEEP:] if _interesting(item)][:_KEEP]
        return [trim(item) for item in kept]
    return value


def _lines(text: str) -> list[list[str]]:
    """A requirements file as lines of space-separated tokens; continuations joined."""
    lines = text.replace("\\\n", " ").splitlines()
    return [line.split() for line in lines if line.strip() and not line.lstrip().startswith("#")][:40]


def _seed(path: Path, kind: str, text: str | None = None) -> Seed:
    text = path.read_text(encoding="utf-8") if text is None else text
    parsers: dict[str, Callable[[str], Any]] = {"toml": tomli.loads, "json": json.loads, "lines": _lines}
    parse = parsers[kind]
    tree = parse(text)
    return Seed(path=path, text=text, tree=tree if kind == "lines" else trim(tree))


def _format(name: str, filename: str, kind: str, *paths: str, extra: tuple[Seed, ...] = ()) -> Format:
    return Format(name=name, filename=filename, kind=kind, seeds=tuple(_seed(LOCKS / p, kind) for p in paths) + extra)


# Hand-written seeds for shapes no fixture has (the fixtures are what tools write; these
# are what people write): every requirement-file line kind, and every pyproject.toml
# table layerplan reads. Their "path" only names the directory they are read in.
_REQUIREMENTS_BY_HAND = """\
--index-url https://pypi.org/simple
--extra-index-url https://user:token@private.example/simple/
-c constraints.txt
--only-binary :all:
-e ./libs/helper
-e git+https://github.com/org/repo.git@0123456789abcdef0123456789abcdef01234567#egg=gitpkg&subdirectory=sub
six @ https://files.pythonhosted.org/packages/b7/ce/149a/six-1.17.0-py2.py3-none-any.whl#sha256=\
4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274
https://host.example/files/tinysdist-1.0.tar.gz
attrs==25.3.0 ; python_version >= "3.8" \\
    --hash=sha256:c647aa4a12dfbad9333ca4e71fe62ddc36f4e63b2d260a37a8b83d2f043ac309 \\
    --hash=sha256:d03ceb89cb322a8fd706d4fb91940737b6642aa36998fe130a9bc96c985eff32
colorama; sys_platform == 'win32'  # locked elsewhere: no pin, no hash
"""

_PYPROJECT_BY_HAND = """\
[project]
name = "kitchen-sink"
version = "1.0"
requires-python = ">=3.10"
dynamic = ["readme"]

[project.optional-dependencies]
yaml = ["pyyaml>=6; python_version >= '3.10'"]

[project.scripts]
app = "app.cli:main"

[dependency-groups]
test = ["pytest>=8", {include-group = "lint"}]
lint = ["ruff"]
dev = [{include-group = "test"}, "six @ https://host.example/six-1.0-py3-none-any.whl"]

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
backend-path = ["."]

[tool.uv.workspace]
members = ["packages/*"]
exclude = ["packages/skip"]

[tool.uv.sources]
six = { index = "private" }

[tool.hatch.build.targets.wheel]
packages = ["src/app"]

[tool.hatch.build.targets.image]
python = "3.12"

[tool.poetry]
name = "kitchen-sink"
version = "1.0"

[tool.poetry.dependencies]
python = "^3.10"
click = { version = "^8.0", extras = ["x"], markers = "sys_platform == 'linux'", optional = true }
numpy = [{ version = "<2", python = "<3.11" }, { version = ">=2", python = ">=3.11" }]
gitdep = { git = "https://github.com/org/repo.git", rev = "v1" }

[tool.poetry.group.dev.dependencies]
pytest = "^8"

[tool.poetry.extras]
cli = ["click"]

[tool.poetry.scripts]
app2 = "app.cli:main"

[tool.pdm.dev-dependencies]
lint = ["ruff>=0.5"]

[tool.layerplan]
python = "3.12"
"""


FORMATS: tuple[Format, ...] = (
    _format("uv", "uv.lock", "toml", "basic/uv.lock", "uv-sources/uv.lock", "uv-reader/workspace/uv.lock",
            "uv-reader/virtual-root/uv.lock", "sdist-only/uv.lock"),
    _format("pylock", "pylock.toml", "toml", "basic/pylock.toml", "pylock-reader/pylock.pdm.toml",
            "uv-reader/workspace/pylock.toml"),
    _format("poetry", "poetry.lock", "toml", "basic/poetry.lock", "poetry-reader/poetry.lock",
            "poetry-reader/legacy/poetry.lock"),
    _format("pdm", "pdm.lock", "toml", "basic/pdm.lock", "pdm-reader/pdm.lock", "pdm-reader/static-urls/pdm.lock"),
    _format("pipfile", "Pipfile.lock", "json", "basic/Pipfile.lock", "pipfile-reader/Pipfile.lock"),
    _format("requirements", "requirements.txt", "lines", "basic/requirements.txt",
            "requirements-reader/uv-export.txt", "requirements-reader/pip-compile.txt",
            "requirements-reader/pipenv-requirements.txt",
            extra=(_seed(LOCKS / "requirements-reader" / "by-hand.txt", "lines", _REQUIREMENTS_BY_HAND),)),
)  # fmt: skip

PYPROJECTS: tuple[Seed, ...] = tuple(
    _seed(ROOT / p, "toml")
    for p in (
        "example-project/pyproject.toml",
        "tests/fixtures/locks/basic/pyproject.toml",
        "tests/fixtures/locks/basic/poetry/pyproject.toml",
        "tests/fixtures/locks/uv-sources/pyproject.toml",
        "tests/fixtures/locks/uv-reader/workspace/pyproject.toml",
        "tests/fixtures/locks/poetry-reader/legacy/pyproject.toml",
        "tests/fixtures/locks/pdm-reader/pyproject.toml",
    )
) + (_seed(LOCKS / "uv-reader" / "workspace" / "by-hand.toml", "toml", _PYPROJECT_BY_HAND),)
