"""Fixtures for the direct-build tests.

Engine-free: an in-memory registry (``memregistry``), a synthetic Debian + Python 3.11
base (``synthetic_base``), and the example project built once on it (``example_build``),
whose cache later builds reuse. Engine tests: the real engine, registries and base.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from engine import auth_registry, base_image, builder_image, docker_client, multi_base_image, registry  # noqa: F401
from memregistry import memregistry  # noqa: F401
from synthbase import SyntheticBase, synthetic_base  # noqa: F401

from tests.direct_build.helpers import build_json, copy_example


@dataclass(frozen=True)
class ExampleBuild:
    """A cold build of a copy of example-project/ on the synthetic base (OCI layout output)."""

    project: Path
    cache: Path
    """The build's cache: every layer of the example is in it, and every wheel."""
    base: str
    """The ``--base`` it was built on (the synthetic base's OCI layout)."""
    output: Path
    report: dict[str, Any]
    env: dict[str, str]
    """``SOURCE_DATE_EPOCH``: builds that pass it too reuse the cache's layers."""


EPOCH = 1700000000
"""2023-11-14T22:13:20Z: not the default (1980-01-01), so the tests see it is honoured."""


@pytest.fixture(scope="session")
def example_build(tmp_path_factory: pytest.TempPathFactory, synthetic_base: SyntheticBase) -> ExampleBuild:  # noqa: F811
    root = tmp_path_factory.mktemp("example-build")
    project = copy_example(root / "example")
    base = synthetic_base.specs["oci"]
    env = {"SOURCE_DATE_EPOCH": str(EPOCH)}
    report = build_json(project, base, f"oci:{root / 'oci'}", cache=root / "cache", env=env)
    return ExampleBuild(project=project, cache=root / "cache", base=base, output=root / "oci", report=report, env=env)
