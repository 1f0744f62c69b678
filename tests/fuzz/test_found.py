"""What the fuzzer found, as minimal inputs, so each stays fixed even if a later run of
the fuzzer does not draw it again (issue 11, point 8).

* Deep nesting: tomli gives up on inline arrays/tables nested past 400 levels or keys of
  more than 1000 parts, and ``json`` on arrays nested about 1000 deep, with a bare
  ``RecursionError`` (a traceback): now one line ``FILE:LINE: nested too deeply (...)``.
* Credentials: a URL with ``user:password@`` written where a marker, a version or a
  requirement belongs was quoted back whole in the error: every error now drops them.
* Size: a quoted value of megabytes gave a line of megabytes: the message is cut.
* Deep chains: ``-r`` includes and PEP 735 ``include-group`` recursed once per level
  (a ``RecursionError`` at a few hundred); both now stop at 50 levels with one line.
* Types: ``{include-group = 3}`` raised ``AttributeError``; in Poetry's own tables an
  array of arrays as ``extras`` a ``TypeError``, and a dependency name that is no package
  name an ``InvalidRequirement``; a member's ``project = "b"`` an ``AttributeError``.
* Globs: ``members = [""]`` (or ``**`` inside a name) raised ``ValueError`` from pathlib.
* Long names: pathlib's ``exists()``/``is_file()`` read only "not found" errors as False,
  so a path part over 255 bytes (a project name, a ``-e``/``-r`` path, a lock's local
  source) raised ``OSError: File name too long`` in the readers and in planning.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from layerplan.cli.main import main
from layerplan.errors import LayerplanError, LockfileError, ProjectError
from layerplan.lockfiles.pdm import read_pdm_lock
from layerplan.lockfiles.pipfile import read_pipfile_lock
from layerplan.lockfiles.poetry import read_poetry_lock
from layerplan.lockfiles.pylock import read_pylock
from layerplan.lockfiles.requirements import read_requirements
from layerplan.lockfiles.uv import read_uv_lock
from layerplan.project import read_project
from tests.fuzz.mutations import SECRET

BASIC = Path(__file__).resolve().parents[1] / "fixtures" / "locks" / "basic"
DEEP_ARRAY = "[" * 2000 + "]" * 2000
DEEP_TABLE = "{a=" * 2000 + "1" + "}" * 2000


@pytest.mark.parametrize(
    ("read", "filename", "text", "line", "reason"),
    [
        (read_uv_lock, "uv.lock", f"version = 1\nrevision = 3\n\nx = {DEEP_ARRAY}\n", 4, "nested more than the allowed 400 levels"),
        (read_uv_lock, "uv.lock", f"version = 1\n\nx = {DEEP_TABLE}\n", 3, "nested more than the allowed 400 levels"),
        (read_pylock, "pylock.toml", 'lock-version = "1.0"\n' + "a." * 1500 + "b = 1\n", 2, "key has more than the allowed 1000 parts"),
        (read_poetry_lock, "poetry.lock", f"# a comment [ with a bracket\n[metadata]\nx = {DEEP_ARRAY}\n", 3, "400 levels"),
        (read_pdm_lock, "pdm.lock", f'[metadata]\nlock_version = "4.5"\nx = "]]]]"\ny = {DEEP_ARRAY}\n', 4, "400 levels"),
        (read_pipfile_lock, "Pipfile.lock", '{"_meta": {},\n "x": ' + "[" * 5000 + "]" * 5000 + "}", 2, "too many levels"),
        (read_pipfile_lock, "Pipfile.lock", '{"x": "[[[",\n "y":\n' + '{"a":' * 5000 + "1" + "}" * 5000 + "}", 3, "too many levels"),
    ],
)
def test_deep_nesting_is_one_line(read: object, filename: str, text: str, line: int, reason: str, tmp_path: Path) -> None:
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LockfileError) as excinfo:
        read(path)  # type: ignore[operator]
    error = excinfo.value
    assert error.line == line
    assert error.message.startswith("nested too deeply") and reason in error.message
    assert str(error).startswith(f"{path}:{line}: nested too deeply") and "\n" not in str(error)


def test_a_deeply_nested_pyproject_is_one_project_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "a"\n[tool.x]\ny = {DEEP_ARRAY}\n', encoding="utf-8")
    with pytest.raises(ProjectError, match=r"pyproject.toml:4: nested too deeply"):
        read_project(tmp_path)


def test_deep_nesting_through_the_cli_is_exit_2_and_one_line(tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text((BASIC / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (project / "uv.lock").write_text(f"version = 1\nx = {DEEP_ARRAY}\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "layerplan", "plan", str(project), "--no-index"],
        capture_output=True, text=True, env={**os.environ, "LAYERPLAN_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {project / 'uv.lock'}:2: nested too deeply (TOML inline arrays/tables are nested more than the allowed 400 levels) (hint: the file is damaged or was not written by a lock tool; restore or regenerate it)\n"


@pytest.mark.parametrize(
    ("read", "filename", "text"),
    [
        # an index URL pasted where the marker belongs (found in Pipfile.lock)
        (read_pipfile_lock, "Pipfile.lock",
         '{"_meta": {"pipfile-spec": 6, "sources": []}, "default": {"six": {"version": "==1.17.0",'
         f' "markers": "https://fuzz:{SECRET}@pypi.example/simple"}}}}, "develop": {{}}}}'),
        # a table holding such a URL where a string belongs: quoted as a repr
        (read_pipfile_lock, "Pipfile.lock",
         '{"_meta": {"pipfile-spec": 6, "sources": []}, "default": {"six": {"version":'
         f' {{"": "https://fuzz:{SECRET}@pypi.example/simple"}}}}}}, "develop": {{}}}}'),
        (read_pdm_lock, "pdm.lock", f'[metadata]\nlock_version = "https://fuzz:{SECRET}@pypi.example/simple"\n'),
        (read_requirements, "requirements.txt", f'url = "https://fuzz:{SECRET}@pypi.example/simple/"\n'),
        (read_requirements, "requirements.txt", f"git+https://fuzz:{SECRET}@\n"),
        # a URL run into a hash, with no word boundary before its scheme
        (read_poetry_lock, "poetry.lock",
         '[metadata]\nlock-version = "2.1"\n[[package]]\nname = "a"\nversion = "1"\ngroups = ["main"]\n'
         f'files = [{{file = "a-1.tar.gz", hash = "sha256:0a1https://fuzz:{SECRET}@pypi.example/simple"}}]\n'),
        # a password with a raw `@` in it
        (read_requirements, "requirements.txt", f"-e git+https://fuzz:{SECRET}@x@host/repo.git@abc\n"),
    ],
)
def test_no_error_shows_a_credential(read: object, filename: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LockfileError) as excinfo:
        read(path)  # type: ignore[operator]
    assert SECRET not in str(excinfo.value)
    assert "pypi.example" in str(excinfo.value) or "host" in str(excinfo.value) or "git+https://" in str(excinfo.value)


def test_a_huge_quoted_value_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "pdm.lock"
    path.write_text(f'[metadata]\nlock_version = "{"9" * 1_000_000}x"\n', encoding="utf-8")
    with pytest.raises(LockfileError) as excinfo:
        read_pdm_lock(path)
    text = str(excinfo.value)
    assert len(text) < 1_000 and "more characters)" in text and text.endswith("(hint: regenerate it with `pdm lock`)")


def test_the_cut_and_the_redaction_apply_to_every_error() -> None:
    error = LayerplanError(f"x https://u:{SECRET}@h/simple " + "y" * 2000, path="f", line=3, hint="do z")
    assert str(error) == "f:3: x https://h/simple " + "y" * 481 + "... (1519 more characters) (hint: do z)"


def test_a_deep_chain_of_includes_is_one_line(tmp_path: Path) -> None:
    """``-r`` recursed once per level: 300 nested files gave a RecursionError."""
    for level in range(300):
        (tmp_path / f"r{level}.txt").write_text(f"-r r{level + 1}.txt\n", encoding="utf-8")
    (tmp_path / "r300.txt").write_text("six==1.17.0 --hash=sha256:" + "a" * 64 + "\n", encoding="utf-8")
    with pytest.raises(LockfileError) as excinfo:
        read_requirements(tmp_path / "r0.txt")
    assert str(excinfo.value).startswith(f"{tmp_path / 'r49.txt'}:1: includes nested too deeply (more than 50 levels of -r)")
    assert len(read_requirements(tmp_path / "r260.txt").packages) == 1  # 40 levels are fine


def test_a_deep_chain_of_dependency_groups_is_one_line(tmp_path: Path) -> None:
    """``include-group`` recursed once per group: a chain of 1,000 gave a RecursionError."""
    groups = "".join(f'g{i} = [{{include-group = "g{i + 1}"}}]\n' for i in range(1000))
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "a"\n[dependency-groups]\n{groups}g1000 = ["six"]\n', encoding="utf-8")
    with pytest.raises(ProjectError) as excinfo:
        read_project(tmp_path)
    assert excinfo.value.key == "dependency-groups.g50" and excinfo.value.line == 54
    assert "include each other more than 50 levels deep" in excinfo.value.message


def test_a_chain_of_forty_dependency_groups_reads(tmp_path: Path) -> None:
    groups = "".join(f'g{i} = ["p{i}", {{include-group = "g{i + 1}"}}]\n' for i in range(40))
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "a"\n[dependency-groups]\n{groups}g40 = ["six"]\n', encoding="utf-8")
    project = read_project(tmp_path)
    assert len(project.dependency_groups["g0"]) == 41 and [str(r) for r in project.dependency_groups["g39"]] == ["p39", "six"]


def test_an_include_group_that_is_not_a_name_is_one_line(tmp_path: Path) -> None:
    """``canonicalize_name(3)`` raised AttributeError."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "a"\n[dependency-groups]\ndev = [{include-group = 3}]\n', encoding="utf-8")
    with pytest.raises(ProjectError) as excinfo:
        read_project(tmp_path)
    assert str(excinfo.value) == f"{tmp_path / 'pyproject.toml'}:4 `dependency-groups.dev`: `include-group` must be a group name (a string), not 3"


def test_a_poetry_dependency_that_is_no_package_name_is_one_line(tmp_path: Path) -> None:
    """The bare-name fallback ``Requirement(name)`` raised InvalidRequirement."""
    (tmp_path / "pyproject.toml").write_text('[tool.poetry]\nname = "a"\n[tool.poetry.group.dev.dependencies]\n"b)" = "^1"\n', encoding="utf-8")
    with pytest.raises(ProjectError) as excinfo:
        read_project(tmp_path)
    assert excinfo.value.key == "tool.poetry.group.dev.dependencies.b)" and excinfo.value.line == 4
    assert excinfo.value.message == "invalid package name 'b)'"


def test_poetry_extras_and_markers_of_the_wrong_type_are_left_out(tmp_path: Path) -> None:
    """``','.join(extras)`` raised TypeError on an array of arrays; Poetry's tables are read leniently."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "a"\n[tool.poetry.dependencies]\n'
        'click = { version = "^8.0", extras = [["x"], "y", 3] }\nsix = { version = "^1", markers = ["win32"] }\n',
        encoding="utf-8",
    )
    project = read_project(tmp_path)
    assert [str(r) for r in project.dependencies] == ["click[y]<9,>=8.0", "six<2,>=1"]


@pytest.mark.parametrize("pattern", ["", "packages/a**"])
def test_a_workspace_glob_pathlib_refuses_is_one_line(pattern: str, tmp_path: Path) -> None:
    """``Path.glob('')`` raised ValueError (Unacceptable pattern)."""
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "a"\n[tool.uv.workspace]\nmembers = ["{pattern}"]\n', encoding="utf-8")
    with pytest.raises(ProjectError) as excinfo:
        read_project(tmp_path)
    assert excinfo.value.key == "tool.uv.workspace.members" and excinfo.value.line == 4
    assert excinfo.value.message.startswith(f"{pattern!r} is not a workspace glob")


def test_a_workspace_member_whose_project_is_not_a_table_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "a"\n[tool.uv.workspace]\nmembers = ["packages/*"]\n', encoding="utf-8")
    (tmp_path / "packages" / "b").mkdir(parents=True)
    (tmp_path / "packages" / "b" / "pyproject.toml").write_text('project = "b"\n', encoding="utf-8")
    with pytest.raises(ProjectError, match="workspace member has no \\[project\\] name"):
        read_project(tmp_path)


def test_a_name_longer_than_the_system_allows_is_not_a_traceback(tmp_path: Path) -> None:
    """The guess at the app's source directory stat()ed ``src/<name>``: ENAMETOOLONG."""
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "{"x" * 300}"\n', encoding="utf-8")
    assert read_project(tmp_path).source_paths == ()
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "a"\n[tool.uv.workspace]\nmembers = ["{"x" * 300}/*"]\n', encoding="utf-8")
    with pytest.raises(ProjectError, match="'x{300}/\\*' is not a workspace glob: .*File name too long"):
        read_project(tmp_path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-e ./" + "d" * 300, "cannot tell which package './ddd"),
        ("./" + "d" * 300, "cannot tell which package './ddd"),
        ("-r " + "d" * 300, "cannot read included file 'ddd"),
    ],
)
def test_a_path_longer_than_the_system_allows_in_requirements_is_one_line(line: str, message: str, tmp_path: Path) -> None:
    """pathlib's exists()/is_file() raise ENAMETOOLONG (only 'not found' errors read as False)."""
    (tmp_path / "requirements.txt").write_text(line + "\n", encoding="utf-8")
    with pytest.raises(LockfileError) as excinfo:
        read_requirements(tmp_path / "requirements.txt")
    assert message in str(excinfo.value) and excinfo.value.line == 1


def test_a_local_source_longer_than_the_system_allows_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Planning stat()ed the local source to digest it: ENAMETOOLONG escaped ``plan``."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1"\ndependencies = ["lib"]\n', encoding="utf-8")
    (tmp_path / "uv.lock").write_text(
        'version = 1\n\n[[package]]\nname = "app"\nversion = "1"\nsource = { editable = "." }\ndependencies = [{ name = "lib" }]\n\n'
        f'[[package]]\nname = "lib"\nversion = "1.0"\nsource = {{ directory = "./{"d" * 300}" }}\n',
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAYERPLAN_CACHE_DIR", str(tmp_path / "cache"))
        assert main(["plan", str(tmp_path), "--no-index"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"error: {tmp_path}: lib: cannot read its source './ddd") and "File name too long" in err


def test_a_workspace_glob_that_leads_out_of_the_root_is_one_line(tmp_path: Path) -> None:
    """``../../../../**`` would walk the whole file system (a hang, not a crash)."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "a"\n[tool.uv.workspace]\nmembers = ["../../../../**"]\n', encoding="utf-8")
    with pytest.raises(ProjectError, match="leads out of the workspace root") as excinfo:
        read_project(tmp_path)
    assert excinfo.value.key == "tool.uv.workspace.members" and excinfo.value.line == 4
