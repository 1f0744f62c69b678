"""Bytecode is compiled once per wheel and reused by every later build that installs it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.direct_build.conftest import ExampleBuild
from tests.direct_build.helpers import build_json, copy_example

OLD = 1_000_000_000.0
REGISTRY_WHEELS = 8
"""numpy, click, typing-extensions, typing-inspection, annotated-types, humanize, pydantic-core, pydantic."""


def test_a_cold_build_keeps_each_registry_wheels_bytecode(example_build: ExampleBuild) -> None:
    entries = sorted((example_build.cache / "bytecode").iterdir())
    assert len(entries) == REGISTRY_WHEELS  # the app and the local package are not kept: they change
    numpy = [e for e in entries if any(p.name == "__init__.cpython-311.pyc" for p in e.rglob("numpy/__pycache__/*"))]
    assert len(numpy) == 1


def test_another_build_with_the_same_wheels_reuses_their_bytecode_and_makes_the_same_image(
    example_build: ExampleBuild, tmp_path: Path
) -> None:
    """A new checkout with an empty layer cache, sharing only the downloaded wheels and the
    bytecode of the first build: every layer is built again, no wheel's bytecode is compiled
    again, and the image is byte for byte the cold build's."""
    cache = tmp_path / "cache"
    for area in ("wheels", "bytecode", "build-envs"):
        shutil.copytree(example_build.cache / area, cache / area, symlinks=True)
    entries = sorted((cache / "bytecode").iterdir())
    for entry in entries:
        os.utime(entry, (OLD, OLD))
    project = copy_example(tmp_path / "another" / "example")

    report = build_json(project, example_build.base, f"oci:{tmp_path / 'oci'}", cache=cache, env=example_build.env)

    assert {layer["status"] for layer in report["layers"] if layer["status"] != "base"} == {"built"}
    assert report["digest"] == example_build.report["digest"]
    assert sorted((cache / "bytecode").iterdir()) == entries  # nothing compiled anew for a registry wheel
    assert all(entry.stat().st_mtime > OLD for entry in entries)  # each was used (a hit refreshes it)
