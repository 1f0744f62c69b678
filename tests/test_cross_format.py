"""One resolution, six lockfile formats: every reader must give the same install set.

The fixtures in tests/fixtures/locks/basic/ were written by the real tools (uv, poetry,
pdm, pipenv, uv export/pip compile) for one pinned requirement set; see regenerate.sh.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from layerplan.resolution import PlanRequest, plan_project
from layerplan.selection import InstallSet

BASIC = Path(__file__).parent / "fixtures" / "locks" / "basic"
LOCKS = {
    "uv": BASIC / "uv.lock",
    "pylock": BASIC / "pylock.toml",
    "poetry": BASIC / "poetry.lock",
    "pdm": BASIC / "pdm.lock",
    "pdm-static-urls": BASIC / "pdm-static-urls" / "pdm.lock",
    "pipfile": BASIC / "Pipfile.lock",
    "requirements": BASIC / "requirements.txt",
}
TARGETS = [
    {"python": "3.11", "platform": "linux/amd64", "libc": "glibc-2.36"},
    {"python": "3.10", "platform": "linux/arm64", "libc": "glibc-2.36"},
    {"python": "3.13", "platform": "linux/amd64", "libc": "musl-1.2"},
]


def install_set(lock: Path, **target: str) -> InstallSet:
    return plan_project(PlanRequest(project=BASIC, lock=lock, **target)).install_set


def versions(result: InstallSet) -> dict[str, str | None]:
    return {item.name: item.version for item in result.items}


def wheel_hash(result: InstallSet, name: str) -> str | None:
    item = next(i for i in result.items if i.name == name)
    return item.wheel.hashes[0] if item.wheel else None


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t['python']}-{t['platform']}-{t['libc']}")
@pytest.mark.parametrize("fmt", [name for name in LOCKS if name != "uv"])
def test_every_format_gives_the_same_install_set(fmt: str, target: dict[str, str]) -> None:
    reference = install_set(LOCKS["uv"], **target)
    other = install_set(LOCKS[fmt], **target)
    assert versions(other) == versions(reference)
    for item in other.items:
        if item.choice == "wheel":  # the lock names files: the same wheel must be chosen
            assert wheel_hash(other, item.name) == wheel_hash(reference, item.name), item.name
        else:  # hashes only: the wheel is looked up at build time among these hashes
            assert item.choice == "lookup"
            assert wheel_hash(reference, item.name) in item.hashes


def test_targets_change_the_answer() -> None:
    amd64 = install_set(LOCKS["uv"], **TARGETS[0])
    arm64 = install_set(LOCKS["uv"], python="3.11", platform="linux/arm64")
    musl = install_set(LOCKS["uv"], python="3.11", libc="musl-1.2")
    py313 = install_set(LOCKS["uv"], python="3.13")
    py310 = install_set(LOCKS["uv"], python="3.10")

    def numpy_file(result: InstallSet) -> str:
        item = next(i for i in result.items if i.name == "numpy")
        assert item.wheel is not None and item.wheel.filename is not None
        return item.wheel.filename

    assert "x86_64" in numpy_file(amd64) and "manylinux" in numpy_file(amd64)
    assert "aarch64" in numpy_file(arm64)
    assert "musllinux" in numpy_file(musl)
    assert "cp313" in numpy_file(py313)
    # a marker-guarded package appears only where its marker holds
    assert "tomli" in versions(py310)
    assert "tomli" not in versions(amd64)
    # a Windows-only dependency never appears in a Linux image
    for result in (amd64, arm64, musl, py313, py310):
        assert "colorama" not in versions(result)
    # the extra requests[socks] pulls in PySocks
    assert "pysocks" in versions(amd64)
