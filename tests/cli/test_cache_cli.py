"""`layerplan cache` as a user runs it, on a cache that real commands filled."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import base_image  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-project"
BASIC = ROOT / "tests" / "fixtures" / "locks" / "basic"
ROW = re.compile(r"^\s+([a-z-]+)\s+(\d+)\s+")


def layerplan(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "layerplan", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


def info(cache: Path) -> tuple[dict[str, int], int]:
    """``cache info``'s count per area, and its total in bytes."""
    result = layerplan("cache", "info", "--cache-dir", cache)
    assert result.returncode == 0, result.stderr
    counts = {m.group(1): int(m.group(2)) for line in result.stdout.splitlines() if (m := ROW.match(line))}
    total = re.search(r"\((\d+) bytes\)", result.stdout)
    assert total is not None, result.stdout
    return counts, int(total.group(1))


def file_bytes(root: Path) -> int:
    """What ``du --apparent-size`` counts for the files: each file's size, a hard link once."""
    seen, total = set(), 0
    for path in root.rglob("*"):
        st = path.lstat()
        if not (path.is_dir() and not path.is_symlink()) and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if not p.is_dir()] if path.exists() else []


@pytest.mark.engine
def test_info_and_prune_see_everything_real_commands_put_in_the_cache(tmp_path: Path, base_image: str) -> None:  # noqa: F811
    cache = tmp_path / "cache"
    # A poetry lock records no sizes: planning it asks the index, and keeps the answers (sizes/).
    planned = layerplan("plan", BASIC, "--lock", BASIC / "poetry.lock", "--python", "3.11", "--cache-dir", cache)
    assert planned.returncode == 0, planned.stderr
    # A direct build fills the rest: base platform, wheels, build environment, blobs, keys.
    project = tmp_path / "example"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".venv", "__pycache__", "dist", "*.egg-info"))
    built = layerplan("build", project, "--base", base_image, "--output", f"oci:{tmp_path / 'image'}", "--cache-dir", cache, "--quiet")
    assert built.returncode == 0, built.stderr

    counts, total = info(cache)
    for area in ("blobs", "keys", "wheels", "sizes", "platforms", "build-envs"):
        assert counts[area] > 0, (area, counts)
    assert counts["other"] == 0, counts  # everything the commands wrote is in a known area
    assert counts["temp"] == 0, counts  # and no temp file was left behind
    assert total == file_bytes(cache) > 10_000_000

    before = {p: p.lstat().st_mtime for p in cache.rglob("*")}
    dry = layerplan("cache", "prune", "--all", "--dry-run", "--cache-dir", cache)
    assert dry.returncode == 0, dry.stderr
    assert "would remove" in dry.stdout and "build-envs" in dry.stdout
    assert {p: p.lstat().st_mtime for p in cache.rglob("*")} == before  # nothing removed, nothing touched
    assert info(cache) == (counts, total)

    pruned = layerplan("cache", "prune", "--all", "--cache-dir", cache)
    assert pruned.returncode == 0, pruned.stderr
    for area in ("blobs", "wheels", "build-envs", "keys", "sizes", "platforms", "tmp"):
        assert files_under(cache / area) == [], area
    counts, total = info(cache)
    assert set(counts.values()) == {0} and total == 0 == file_bytes(cache)


@pytest.mark.parametrize(
    "args",
    [
        ("cache", "info", "--cache-dir", "{file}"),
        ("cache", "prune", "--all", "--cache-dir", "{file}"),
        ("cache", "prune", "--older-than", "-1", "--cache-dir", "{dir}"),
        ("cache", "prune", "--older-than", "soon", "--cache-dir", "{dir}"),
        ("cache", "prune", "--all", "--older-than", "3", "--cache-dir", "{dir}"),
        ("cache", "prune", "--cache-dir"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("not a cache")
    result = layerplan(*(arg.format(file=a_file, dir=tmp_path / "cache") for arg in args))
    assert result.returncode == 2, result
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert a_file.read_text() == "not a cache"


def test_prune_of_a_missing_cache_removes_nothing(tmp_path: Path) -> None:
    result = layerplan("cache", "prune", "--dry-run", "--cache-dir", tmp_path / "none")
    assert result.returncode == 0, result.stderr
    assert "would remove (dry run, nothing removed): nothing" in result.stdout
    assert not (tmp_path / "none").exists()


def test_cache_info_and_prune_speak_json(tmp_path: Path) -> None:
    """`cache info --json` counts what `cache info` counts; `prune --json` says what went."""
    import json
    import subprocess
    import sys

    cache = tmp_path / "cache"
    blob = cache / "wheels" / "sha256" / ("ab" * 32) / "x-1.0-py3-none-any.whl"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"w" * 1234)

    def cli(*args: str) -> dict[str, object]:
        result = subprocess.run([sys.executable, "-m", "layerplan", "cache", *args, "--cache-dir", str(cache), "--json"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        document: dict[str, object] = json.loads(result.stdout)
        return document

    info = cli("info")
    assert info["root"] == str(cache) and info["total_bytes"] == 1234
    assert sum(area["bytes"] for area in info["areas"].values()) == 1234  # type: ignore[attr-defined]
    dry = cli("prune", "--all", "--dry-run")
    assert dry["dry_run"] is True and dry["freed_bytes"] == 1234 and dry["left"] is None
    assert blob.exists()
    done = cli("prune", "--all")
    assert done["freed_bytes"] == 1234 and done["left"]["total_bytes"] == 0  # type: ignore[index]
    assert not blob.exists()
