"""Reading pyproject.toml: what the planner needs, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerplan.errors import ProjectError
from layerplan.project import read_project, tree_digest


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_name_version_scripts_and_sources(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
[project]
name = "My_App"
version = "1.2.3"
requires-python = ">=3.11"
dependencies = ["requests>=2; python_version >= '3.8'", "click"]
[project.optional-dependencies]
web = ["flask"]
[project.scripts]
my-app = "my_app.cli:main"
[dependency-groups]
test = ["pytest"]
dev = [{include-group = "test"}, "ruff"]
[tool.layerplan]
python = "3.11"
""",
    )
    write(tmp_path / "src/my_app/__init__.py", "")
    project = read_project(tmp_path)
    assert project.name == "my-app"
    assert project.display_name == "My_App"
    assert project.version == "1.2.3"
    assert project.scripts == {"my-app": "my_app.cli:main"}
    assert [r.name for r in project.dependencies] == ["requests", "click"]
    assert [r.name for r in project.optional_dependencies["web"]] == ["flask"]
    assert [r.name for r in project.dependency_groups["dev"]] == ["pytest", "ruff"]
    assert project.build_backend == "hatchling.build"
    assert project.source_paths == (Path("src/my_app"),)
    assert project.config == {"python": "3.11"}


def test_workspace_members_are_found(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "root"\nversion = "0"\n[tool.uv.workspace]\nmembers = ["packages/*"]\nexclude = ["packages/skip"]\n')
    write(tmp_path / "packages/alpha/pyproject.toml", '[project]\nname = "Alpha"\nversion = "1"\n')
    write(tmp_path / "packages/skip/pyproject.toml", '[project]\nname = "skip"\nversion = "1"\n')
    (tmp_path / "packages/not-a-project").mkdir()
    project = read_project(tmp_path)
    assert [(m.name, m.path.as_posix()) for m in project.workspace_members] == [("alpha", "packages/alpha")]


def test_missing_project_path(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="does not exist"):
        read_project(tmp_path / "nope")
    with pytest.raises(ProjectError, match="no pyproject.toml") as info:
        read_project(tmp_path)
    assert info.value.hint


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", '[project]\nname = "x"\nversion = \n')
    with pytest.raises(ProjectError) as info:
        read_project(tmp_path)
    assert info.value.path == path
    assert info.value.line == 3
    assert "invalid TOML" in str(info.value)


def test_bad_requirement_names_the_key_and_line(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\nversion = "1"\ndependencies = [\n  "requests>=",\n]\n')
    with pytest.raises(ProjectError) as info:
        read_project(tmp_path)
    assert info.value.key == "project.dependencies"
    assert info.value.line == 5
    assert "\n" not in str(info.value)  # packaging's caret diagram is left out


def test_tree_digest_ignores_mtimes_location_and_caches(tmp_path: Path) -> None:
    for root in (tmp_path / "a", tmp_path / "b"):
        write(root / "pkg/__init__.py", "x = 1\n")
        write(root / "pkg/mod.py", "y = 2\n")
    write(tmp_path / "b/pkg/__pycache__/mod.cpython-311.pyc", "junk")
    import os

    os.utime(tmp_path / "b/pkg/mod.py", (1, 1))
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    write(tmp_path / "b/pkg/mod.py", "y = 3\n")
    assert tree_digest(tmp_path / "a") != tree_digest(tmp_path / "b")


def test_poetry_scripts_and_version(tmp_path: Path) -> None:
    """Poetry 2: [project] says the version is dynamic, [tool.poetry] holds it; scripts in
    [tool.poetry.scripts], as strings or tables (file scripts are not entry points)."""
    write(
        tmp_path / "pyproject.toml",
        """
[project]
name = "poetry-app"
dynamic = ["version"]
requires-python = ">=3.10"
[tool.poetry]
version = "2.3.4"
[tool.poetry.scripts]
poetry-app = "poetry_app.cli:main"
admin = { callable = "poetry_app.admin:main" }
setup-db = { reference = "bin/setup-db.sh", type = "file" }
[build-system]
requires = ["poetry-core>=2"]
build-backend = "poetry.core.masonry.api"
""",
    )
    project = read_project(tmp_path)
    assert project.version == "2.3.4"
    assert dict(project.scripts) == {"poetry-app": "poetry_app.cli:main", "admin": "poetry_app.admin:main"}


def test_a_uv_workspace_root_without_a_project_is_a_virtual_root(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.uv.workspace]\nmembers = ["services/*"]\n')
    write(tmp_path / "services" / "api" / "pyproject.toml", '[project]\nname = "api"\nversion = "1.0"\n')
    root = read_project(tmp_path)
    assert root.virtual_root and root.version is None
    assert [m.name for m in root.workspace_members] == ["api"]
    write(tmp_path / "other" / "pyproject.toml", "[tool.ruff]\nline-length = 100\n")
    with pytest.raises(ProjectError, match="the project has no name"):
        read_project(tmp_path / "other")  # not a workspace root: still an error


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ('tool = "x"\n[project]\nname = "a"\n', "tool", "must be a table, not a string"),
        ('build-system = "hatchling"\n[project]\nname = "a"\n', "build-system", "must be a table, not a string"),
        ('[build-system]\nrequires = "hatchling"\n[project]\nname = "a"\n', "build-system.requires", "must be an array, not a string"),
        ('tool = { uv = 1.5 }\n[project]\nname = "a"\n', "tool.uv", "must be a table, not a number"),
        ('[project]\nname = 5\n', "project.name", "must be a string, not an integer"),
        ('[project]\nname = "a"\nversion = 3\n', "project.version", "must be a string, not an integer"),
        ('[project]\nname = "a"\ndependencies = [3]\n', "project.dependencies", "must hold strings only, not an integer"),
        ('[project]\nname = "a"\noptional-dependencies = 3\n', "project.optional-dependencies", "must be a table"),
        ('[project]\nname = "a"\n[dependency-groups]\ndev = 3\n', "dependency-groups.dev", "must be an array"),
        ('[project]\nname = "a"\n[tool.uv.workspace]\nmembers = ["/abs/*"]\n', "tool.uv.workspace.members", "relative to the workspace root"),
        ('[project]\nname = "a"\n[tool.hatch]\nbuild = 3\n', "tool.hatch.build", "must be a table"),
    ],
)
def test_a_wrong_type_is_one_error_naming_the_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    """The fuzzed inputs of issue 11 that gave tracebacks: each is one ProjectError now."""
    write(tmp_path / "pyproject.toml", text)
    with pytest.raises(ProjectError) as excinfo:
        read_project(tmp_path)
    assert excinfo.value.key == key
    assert problem in excinfo.value.message
    assert excinfo.value.line is not None


def test_lenient_poetry_tables_never_crash(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.poetry]\nname = "a"\nextras = { web = 3 }\nscripts = { a = 3 }\n')
    project = read_project(tmp_path)
    assert project.scripts == {} and project.optional_dependencies == {"web": ()}


@pytest.mark.parametrize("pattern", ["", ".", "packages/**x", "/abs/*"])
@pytest.mark.parametrize("key", ["members", "exclude"])
def test_a_workspace_glob_pathlib_refuses_is_one_error(tmp_path: Path, pattern: str, key: str) -> None:
    """Before: ValueError, IndexError or NotImplementedError out of ``Path.glob``."""
    write(tmp_path / "pyproject.toml", f'[project]\nname = "a"\n\n[tool.uv.workspace]\n{key} = ["{pattern}"]\n')
    with pytest.raises(ProjectError) as excinfo:
        read_project(tmp_path)
    assert excinfo.value.key == f"tool.uv.workspace.{key}"
    assert excinfo.value.line == 5
    assert repr(pattern) in str(excinfo.value) and "\n" not in str(excinfo.value)
