"""What the fuzzer found, as minimal inputs, so each stays fixed even if a later run of
the fuzzer does not draw it again (issue 11, point 8).

* Deep nesting: tomli gives up on inline arrays/tables nested past 400 levels or keys of
  more than 1000 parts, and ``json`` on arrays nested about 1000 deep, with a bare
  ``RecursionError`` (a traceback): now one line ``FILE:LINE: nested too deeply (...)``.
* Credentials: a URL with ``user:password@`` written where a marker, a version or a
  requirement belongs was quoted back whole in the error: every error now drops them.
* Size: a quoted value of megabytes gave a line of megabytes: the message is cut.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
