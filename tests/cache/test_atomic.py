"""The one write-then-rename helper for directories: whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerplan.cache.atomic import atomic_directory, is_temp_name


def test_a_new_directory_appears_whole(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    with atomic_directory(dest) as staging:
        (staging / "a").write_text("1")
        assert not dest.exists()
    assert (dest / "a").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_replace_swaps_the_old_tree_out(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old").write_text("old")
    with atomic_directory(dest) as staging:
        (staging / "new").write_text("new")
    assert sorted(p.name for p in dest.iterdir()) == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_first_writer_wins_without_replace(tmp_path: Path) -> None:
    dest = tmp_path / "env"
    with atomic_directory(dest, replace=False) as staging:
        (staging / "mine").write_text("1")
        dest.mkdir()  # another process finished first
        (dest / "theirs").write_text("2")
    assert sorted(p.name for p in dest.iterdir()) == ["theirs"]
    assert [p.name for p in tmp_path.iterdir()] == ["env"]


def test_a_failure_leaves_the_old_tree_and_no_temp(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(dest) as staging:
        (staging / "half").write_text("x")
        assert is_temp_name(staging.name)
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in dest.iterdir()) == ["old"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
