"""The pylock reader's quick path accepts only what ``packaging.pylock`` accepts, and reads
it the same: checked entry by entry on every pylock fixture, on hand-made edge cases and
on the lock fuzzer's mutations of the seeds (tests/fuzz)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.pylock import Pylock, PylockValidationError

from layerplan._toml import loads_toml
from layerplan.lockfiles.pylock import _package, _quick_package, read_pylock
from layerplan.lockfiles._pylock_quick import Quick
from tests.fuzz.mutations import mutated_tree, to_text
from tests.fuzz.oracle import FUZZ
from tests.fuzz.seeds import FORMATS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PYLOCKS = sorted(FIXTURES.rglob("pylock*.toml"))
SEEDS = next(f for f in FORMATS if f.name == "pylock").seeds
HERE = Path("pylock.toml")


def agree(entry: Any, quick: Quick | None = None) -> bool:
    """The quick path says "valid" only where packaging does, with the same package read;
    returns whether the quick path took the entry."""
    fast = (quick or Quick()).package(entry)  # neither path changes the entry
    try:
        slow = Pylock.from_dict({"lock-version": "1.0", "created-by": "t", "packages": [entry]}).packages[0]
    except PylockValidationError:
        assert fast is None, f"quick path accepts what packaging refuses: {entry!r}"
        return False
    if fast is not None:
        assert _quick_package(HERE, fast, entry, 7) == _package(HERE, slow, 7)
    return fast is not None


def test_fixtures_found() -> None:
    assert len(PYLOCKS) >= 4


@pytest.mark.parametrize("path", PYLOCKS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_entries_alike(path: Path) -> None:
    entries = loads_toml(path.read_text(encoding="utf-8"))["packages"]
    quick = Quick()
    taken = [agree(entry, quick) for entry in entries]
    assert any(taken), "the quick path reads the index packages of real files"


def test_whole_file_read_alike(tmp_path: Path) -> None:
    """Quick and packaging paths mixed in one file give what packaging alone gave."""
    for path in PYLOCKS:
        lock = read_pylock(path)
        data = loads_toml(path.read_text(encoding="utf-8"))
        reference = Pylock.from_dict(data)
        assert [p.name for p in lock.packages] == [p.name for p in reference.packages]
        for locked, package in zip(lock.packages, reference.packages):
            assert locked == _package(path, package, locked.line)


WHEEL = {
    "url": "https://files.example/packages/ab/attrs-25.3.0-py3-none-any.whl",
    "upload-time": None,
    "size": 63815,
    "hashes": {"sha256": "a" * 64},
}
BASE = {
    "name": "attrs",
    "version": "25.3.0",
    "index": "https://pypi.org/simple",
    "sdist": {"name": "attrs-25.3.0.tar.gz", "url": "https://files.example/attrs-25.3.0.tar.gz", "hashes": {"sha256": "b" * 64}},
    "wheels": [WHEEL],
}


def variant(**changes: Any) -> dict[str, Any]:
    entry = copy.deepcopy(BASE)
    entry["wheels"][0] = {k: v for k, v in entry["wheels"][0].items() if v is not None}
    for key, value in changes.items():
        if key.startswith("wheel_"):
            entry["wheels"][0][key[6:].replace("_", "-")] = value
        elif value is None:
            entry.pop(key.replace("_", "-"), None)
        else:
            entry[key.replace("_", "-")] = value
    return entry


@pytest.mark.parametrize(
    "entry",
    [
        variant(),
        variant(marker="python_version >= '3.9'", requires_python=">=3.8"),
        variant(marker="python_version >>= '3.9'"),
        variant(requires_python=">=3.8,<<4"),
        variant(version="25.3.0.0"),  # the same version, written otherwise
        variant(version="25.3.1"),  # not the wheel's
        variant(version=None),
        variant(name="Attrs"),  # not normalized
        variant(name="attr"),
        variant(wheel_url="https://files.example/attrs-25.3.0-1build-py3-none-any.whl"),
        variant(wheel_url="https://files.example/attrs-25.3.0-x1-py3-none-any.whl"),  # build tag must start with a digit
        variant(wheel_url="https://files.example/attrs-25.3.0-py3-none.whl"),
        variant(wheel_url="https://files.example/attrs-25.3.0-py3--any.whl"),
        variant(wheel_url="https://files.example/attrs-25.3.0-3py-none-any.whl"),
        variant(wheel_url="https://files.example/attrs__x-25.3.0-py3-none-any.whl"),
        variant(wheel_url="https://files.example/attrs-25.3.0-py3-none-any.whl?x=/other-1.0-py3-none-any.whl"),
        variant(wheel_url="https://files.example/a%74trs-25.3.0-py3-none-any.whl"),
        variant(wheel_url="https://files.example/attrs-25.3.0-py3-none-any.whl;p"),
        variant(wheel_url="https://[bad/attrs-25.3.0-py3-none-any.whl"),
        variant(wheel_url="https://files.example"),
        variant(wheel_url="attrs-25.3.0-py3-none-any.whl"),
        variant(wheel_url=None),
        variant(wheel_url=None, wheel_path="wheels/attrs-25.3.0-py3-none-any.whl"),
        variant(wheel_name="attrs-25.3.0-py2.py3-none-any.whl"),
        variant(wheel_name=""),
        variant(wheel_size=True),
        variant(wheel_size="1"),
        variant(wheel_upload_time="2025-01-01"),
        variant(wheel_hashes={}),
        variant(wheel_hashes={"sha256": 1}),
        variant(wheel_hashes={"sha256": "c" * 64, "md5": "d" * 32}),
        variant(wheels=[]),
        variant(wheels=[], sdist=None),
        variant(wheels=None),
        variant(sdist=None),
        variant(sdist={"url": "https://files.example/attrs-25.3.1.tar.gz", "hashes": {"sha256": "b" * 64}}),
        variant(sdist={"url": "https://files.example/attrs-25.3.0.whl", "hashes": {"sha256": "b" * 64}}),
        variant(directory={"path": "."}),
        variant(dependencies=[{"name": "six"}]),
        variant(dependencies=["six"]),
        variant(dependencies={"name": "six"}),
        variant(attestation_identities=[{"kind": "Publish"}]),
        variant(attestation_identities=[{"kind": 1}]),
        variant(tool={"x": 1}),
        variant(tool=[1]),
        variant(index=1),
    ],
)
def test_edge_cases_alike(entry: dict[str, Any]) -> None:
    agree(entry)


def test_common_shape_is_quick() -> None:
    assert agree(variant(marker="python_version >= '3.9'", dependencies=[{"name": "six"}]))


@FUZZ
@given(data=st.data())
def test_mutated_entries_alike(data: st.DataObject) -> None:
    tree = data.draw(mutated_tree(tuple(seed.tree for seed in SEEDS)))
    document = loads_toml(to_text(tree, "toml"))  # the values a real read gives (datetimes...)
    entries = document.get("packages")
    if isinstance(entries, list):
        quick = Quick()
        for entry in entries:
            agree(entry, quick)
