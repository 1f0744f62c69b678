"""Golden files: the exact text `layerplan dockerfile` writes for a fixture, for reviewers.

Regenerate after an intended change with `LAYERPLAN_UPDATE_GOLDEN=1 .venv/bin/pytest
tests/dockerfile/test_golden.py` and read the diff.

The base is the synthetic one in an in-memory registry on a free port: the files show it
as ``127.0.0.1:5000/python:3.11-bookworm`` (the test engine's registry address), so they
do not change with the port.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.dockerfile.helpers import BASIC, GOLDEN, run_cli

UPDATE = os.environ.get("LAYERPLAN_UPDATE_GOLDEN") == "1"
SHOWN_REGISTRY = "127.0.0.1:5000"


def _text_files(context: Path, registry: str) -> dict[str, str]:
    """Every text file of a context, ``registry`` shown as SHOWN_REGISTRY; `.dockerignore`
    is stored as `dockerignore.txt` (visible)."""
    files = {}
    for path in sorted(context.rglob("*")):
        if path.is_file() and not path.name.endswith(".whl"):
            name = path.relative_to(context).as_posix()
            text = path.read_text(encoding="utf-8").replace(f"{registry}/", f"{SHOWN_REGISTRY}/")
            files["dockerignore.txt" if name == ".dockerignore" else name] = text
    return files


def _check(context: Path, golden: Path, registry: str) -> None:
    actual = _text_files(context, registry)
    if UPDATE:
        shutil.rmtree(golden, ignore_errors=True)  # files the new output no longer has must go
        for name, text in actual.items():
            (golden / name).parent.mkdir(parents=True, exist_ok=True)
            (golden / name).write_text(text, encoding="utf-8")
    expected = {p.relative_to(golden).as_posix(): p.read_text(encoding="utf-8") for p in sorted(golden.rglob("*")) if p.is_file()}
    assert sorted(actual) == sorted(expected)
    for name, text in expected.items():
        assert actual[name] == text, f"{golden.name}/{name} differs (LAYERPLAN_UPDATE_GOLDEN=1 rewrites it)"


@pytest.mark.parametrize(
    ("lock", "flavour", "golden"),
    [
        ("uv.lock", "portable", "basic-uv-portable"),
        ("uv.lock", "buildkit", "basic-uv-buildkit"),
        ("requirements.txt", "portable", "basic-requirements-portable"),
    ],
)
def test_context_text_matches_golden(tmp_path: Path, basic_app_wheel: Path, lock: str, flavour: str, golden: str, base: str) -> None:
    """The text, not the wheels: the project's wheel is the session's build (basic_app_wheel)."""
    out = tmp_path / "context"
    result = run_cli(
        "dockerfile", str(BASIC), "--lock", str(BASIC / lock), "--python", "3.11",
        "--base", base, "--flavour", flavour, "-o", str(out), app_wheel=basic_app_wheel,
    )
    assert result.code == 0, result.err
    wheels = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.whl"))
    assert wheels == ["dist/basic_fixture-0.1.0-py3-none-any.whl", "layerplan/pip-26.2.1-py3-none-any.whl"]
    _check(out, GOLDEN / golden, base.split("/", 1)[0])
