"""Wheel sizes from the index for locks that record none (real PyPI, then the cache)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from layerplan.fetch.sizes import IndexSizes
from layerplan.resolution import PlanRequest, plan_project

BASIC = Path(__file__).resolve().parents[1] / "fixtures" / "locks" / "basic"


def test_sizes_come_from_the_index_once_then_from_the_cache(tmp_path: Path) -> None:
    for lock in ("poetry.lock", "requirements.txt"):  # by file name / by hashes only
        install_set = plan_project(
            PlanRequest(project=BASIC, lock=BASIC / lock, python="3.11", index_sizes=False)
        ).install_set
        assert all(item.size is None for item in install_set.items)
        sizes = IndexSizes(tmp_path / "cache").lookup(install_set, install_set.items)
        assert set(sizes) == {str(item.name) for item in install_set.items}
        assert sizes["numpy"] > 10_000_000  # the cp311 manylinux x86_64 wheel
        assert sizes["idna"] < 200_000
        # an unreachable index: every answer now comes from the cache
        offline = dataclasses.replace(install_set, indexes=("http://127.0.0.1:9/simple/",))
        assert IndexSizes(tmp_path / "cache").lookup(offline, offline.items) == sizes


def test_plan_separates_large_wheels_of_a_poetry_lock() -> None:
    with_sizes = plan_project(PlanRequest(project=BASIC, lock=BASIC / "poetry.lock", python="3.11"))
    without = plan_project(PlanRequest(project=BASIC, lock=BASIC / "poetry.lock", python="3.11", index_sizes=False))
    assert "dep-numpy" in [layer.name for layer in with_sizes.layers]
    assert "dep-numpy" not in [layer.name for layer in without.layers]
    assert any("size unknown" in warning for warning in without.warnings)
