"""Plan stability on the real example lock: what a change does to the layer keys."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from layerplan.resolution import PlanRequest, plan_project

EXAMPLE = Path(__file__).resolve().parents[1] / "example-project"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".venv", "__pycache__", "dist"))
    return copy


def keys(project: Path) -> dict[str, str]:
    return {layer.name: layer.key for layer in plan_project(PlanRequest(project=project)).layers}


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def bump_in_lock(lock: Path, name: str, new_version: str) -> None:
    text = lock.read_text()
    start = text.index(f'[[package]]\nname = "{name}"\n')
    end = text.index("[[package]]", start + 1)
    block = text[start:end]
    old_version = block.split('version = "', 1)[1].split('"', 1)[0]
    # a new release has new files: new version in the names and new hashes
    block = block.replace(old_version, new_version)
    block = re.sub(r"sha256:([0-9a-f]{64})", lambda m: "sha256:" + hashlib.sha256(m.group(1).encode()).hexdigest(), block)
    lock.write_text(text[:start] + block + text[end:])


def test_two_checkouts_plan_the_same_keys(example: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(example, other)
    for path in other.rglob("*"):
        path.touch()  # new mtimes everywhere
    assert keys(example) == keys(other)


def test_project_version_bump_changes_only_the_app_layer(example: Path) -> None:
    before = keys(example)
    pyproject = example / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', 'version = "0.2.0"', 1))
    after = keys(example)
    assert changed(before, after) == ["app"]


def test_code_change_changes_only_the_app_layer(example: Path) -> None:
    before = keys(example)
    cli = example / "src" / "layerplan_example" / "cli.py"
    cli.write_text(cli.read_text() + "\n# a one-line change\n")
    assert changed(before, keys(example)) == ["app"]


def test_workspace_member_change_changes_only_the_local_layer(example: Path) -> None:
    before = keys(example)
    module = next((example / "packages" / "greeting").rglob("__init__.py"))
    module.write_text(module.read_text() + "\n# edited\n")
    assert changed(before, keys(example)) == ["local"]


def test_small_dependency_bump_changes_exactly_one_dependency_layer(example: Path) -> None:
    before_plan = plan_project(PlanRequest(project=example))
    group = next(layer.name for layer in before_plan.layers if any(p.name == "humanize" for p in layer.packages))
    before = {layer.name: layer.key for layer in before_plan.layers}
    bump_in_lock(example / "uv.lock", "humanize", "99.0.0")
    assert changed(before, keys(example)) == [group]
