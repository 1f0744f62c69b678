"""What `layerplan watch` rebuilds on: the build's inputs, not what the build ignores or writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerplan.cli.watch_inputs import fallback_inputs, watched_inputs
from layerplan.errors import LayerplanError
from layerplan.resolution import Request, command_line_layer
from tests.direct_build.helpers import copy_example


def _inputs(project: Path, cache: Path, *outputs: str):  # type: ignore[no-untyped-def]
    options = command_line_layer({"outputs": ("--output", outputs)}) if outputs else None
    return watched_inputs(Request(project=project, options=options, cache_dir=cache))


def test_the_sources_the_lock_and_local_packages_rebuild_and_what_the_build_skips_does_not(tmp_path: Path) -> None:
    project = copy_example(tmp_path / "example")
    inputs = _inputs(project, project / ".layerplan-cache", f"oci:{project / 'image'}", "oci-archive:dist/app.tar")
    assert inputs.roots == (project,)
    for rebuilds in (
        "src/layerplan_example/cli.py", "pyproject.toml", "uv.lock", "README.md", "packages/greeting/src/greeting/__init__.py",
        "src/layerplan_example/new_module.py",
    ):
        assert inputs.wants(project / rebuilds), rebuilds
    for ignored in (
        ".git/index", ".venv/bin/python", "src/layerplan_example/__pycache__/cli.cpython-311.pyc", "dist/app.tar",
        "build/lib/x.py", "src/layerplan_example.egg-info/PKG-INFO", "packages/greeting/.mypy_cache/x.json",
        ".layerplan-cache/blobs/sha256/ab", "image/index.json", "image", ".image.tmp-md26tx8h/oci-layout",
    ):
        assert not inputs.wants(project / ignored), ignored
    assert not inputs.wants(tmp_path / "elsewhere.py")


def test_a_local_package_outside_the_project_is_watched_too(tmp_path: Path) -> None:
    project = copy_example(tmp_path / "example")
    (project / "packages" / "greeting").rename(tmp_path / "greeting")
    lock = project / "uv.lock"
    lock.write_text(lock.read_text().replace('editable = "packages/greeting"', 'editable = "../greeting"'))
    inputs = _inputs(project, tmp_path / "cache")
    assert set(inputs.roots) == {project, tmp_path / "greeting"}
    assert inputs.wants(tmp_path / "greeting" / "src" / "greeting" / "__init__.py")
    assert not inputs.wants(tmp_path / "greeting" / "src" / "greeting" / "__pycache__" / "x.pyc")
    assert not inputs.wants(tmp_path / "cache" / "x")


def test_a_project_that_cannot_be_read_is_an_error_and_its_directory_the_fallback(tmp_path: Path) -> None:
    project = copy_example(tmp_path / "example")
    (project / "pyproject.toml").write_text("[project\n")
    with pytest.raises(LayerplanError, match="pyproject.toml"):
        _inputs(project, tmp_path / "cache")
    fallback = fallback_inputs(project)
    assert fallback.roots == (project,) and fallback.wants(project / "pyproject.toml")
    assert fallback_inputs(project / "pyproject.toml").roots == (project,)
