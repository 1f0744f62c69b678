"""Options merge once, in one precedence: command line > the build tool's image table
> [tool.layerplan] > (the base) > defaults; every place is checked the same way."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from layerplan.errors import ConfigError
from layerplan.resolution import PlanRequest, Request, command_line_layer, plan_project, resolve_build

ROOT = Path(__file__).resolve().parents[2]
BASIC = ROOT / "tests" / "fixtures" / "locks" / "basic"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The basic fixture (uv.lock), with options in every table."""
    project = tmp_path / "basic"
    shutil.copytree(BASIC, project)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + textwrap.dedent(
            """
            [tool.layerplan]
            python = "3.10"
            lock = "uv.lock"
            group-layers = 2
            labels = { team = "layerplan", tier = "from-layerplan" }

            [tool.hatch.build.targets.image]
            python = "3.11"
            labels = { tier = "from-hatch" }
            mode = "image"
            """
        )
    )
    return project


def resolve(project: Path, **flags: tuple[str, object]):  # type: ignore[no-untyped-def]
    with resolve_build(Request(project=project, options=command_line_layer(flags))) as resolved:
        return resolved


def test_the_command_line_wins_then_the_image_table_then_tool_layerplan(project: Path) -> None:
    resolved = resolve(project, python=("--python", "3.12"))
    assert resolved.target.python_version == (3, 12)
    assert resolved.settings.origin("python") == "--python"
    resolved = resolve(project)
    assert resolved.target.python_version == (3, 11)
    assert resolved.settings.origin("python") == "tool.hatch.build.targets.image.python"
    assert resolved.config.group_layers == 2
    assert resolved.settings.origin("group_layers") == "tool.layerplan.group-layers (pyproject.toml:45)"
    assert dict(resolved.config.labels) == {"team": "layerplan", "tier": "from-hatch"}  # tables merge key by key


def test_every_layer_is_validated_by_the_same_checks(project: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(project, platform=("--platform", "windows/amd64"))
    assert str(caught.value).startswith("`--platform`: must be a platform such as")
    text = (project / "pyproject.toml").read_text().replace('python = "3.11"', 'python = "three"')
    (project / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        resolve(project)
    assert "pyproject.toml:49 `tool.hatch.build.targets.image.python`: must be a Python version" in str(caught.value)


def test_an_unknown_key_in_the_image_table_is_named(project: Path) -> None:
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text() + 'bogus = 1\n')
    with pytest.raises(ConfigError, match=r"`tool.hatch.build.targets.image.bogus`: unknown option"):
        resolve(project)


def test_paths_are_relative_to_where_they_are_written(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert resolve(project).lock.path == project / "uv.lock"  # tool.layerplan.lock: the project's
    shutil.copy(BASIC / "poetry.lock", elsewhere / "other.lock")
    with pytest.raises(Exception, match="other.lock"):  # --lock: the working directory's
        resolve(project, lock=("--lock", "missing/other.lock"))


def test_setup_cfg_build_image_is_the_setuptools_table(project: Path) -> None:
    (project / "setup.cfg").write_text("[build_image]\nplatform = linux/arm64\n")
    resolved = resolve(project)
    assert resolved.target.platform == "linux/arm64"
    assert resolved.settings.origin("platform") == "setup.cfg [build_image] platform"


def test_the_plan_says_which_defaults_it_used() -> None:
    plan = plan_project(PlanRequest(project=BASIC, lock=BASIC / "uv.lock"))
    assert plan.target_from == {"python": "default for requires-python >=3.10", "platform": "default", "libc": "default"}
    assert "default for requires-python >=3.10" in plan.layers[0].reason
    assert "base's" not in plan.layers[0].reason


def test_a_relative_lock_is_looked_for_in_the_project_then_here(tmp_path: Path) -> None:
    """`--lock install/requirements.txt` from another directory: the project's file; a path
    that is in neither place names both."""
    import os
    import subprocess
    import sys

    project = tmp_path / "app"
    shutil.copytree(BASIC, project)
    (project / "install").mkdir()
    shutil.move(project / "requirements.txt", project / "install" / "requirements.txt")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def plan(lock: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "layerplan", "plan", str(project), "--lock", lock, "--python", "3.11", "--no-index", "--json"],
            capture_output=True, text=True, cwd=elsewhere, env={**os.environ, "COLUMNS": "200"}, check=False,
        )

    found = plan("install/requirements.txt")
    assert found.returncode == 0, found.stderr
    assert '"path": "install/requirements.txt"' in found.stdout
    missing = plan("install/missing.txt")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert f"tried {project / 'install' / 'missing.txt'} and {elsewhere / 'install' / 'missing.txt'}" in missing.stderr


def test_cache_from_is_an_option_of_every_place(project: Path) -> None:
    """``cache-from``: the flag, the tables, setup.cfg; without it, each registry output."""
    resolved = resolve(project, outputs=("--output", ("registry:reg.example/team/app:1", "oci:out")))
    assert [(str(c.reference), c.explicit) for c in resolved.cache_from] == [("reg.example/team/app:1", False)]
    resolved = resolve(project, cache_from=("--cache-from", ("reg.example/team/app:main", "registry:reg.example/b:2")))
    assert [(str(c.reference), c.explicit) for c in resolved.cache_from] == [
        ("reg.example/team/app:main", True), ("reg.example/b:2", True)
    ]
    (project / "setup.cfg").write_text("[build_image]\ncache-from = reg.example/a:1, reg.example/b:1\n")
    assert [str(c.reference) for c in resolve(project).cache_from] == ["reg.example/a:1", "reg.example/b:1"]
    assert resolve(project).settings.origin("cache_from") == "setup.cfg [build_image] cache-from"
    (project / "setup.cfg").unlink()
    text = (project / "pyproject.toml").read_text().replace('mode = "image"', 'mode = "image"\ncache-from = ["Not A Ref!"]')
    (project / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"`tool.hatch.build.targets.image.cache-from`: must be a list of image references"):
        resolve(project)
