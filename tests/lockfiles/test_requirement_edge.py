"""``Entries.requirement_edge`` reads ``name``/``name>=1,<2`` without packaging's
``Requirement`` parser: every text gives the edge (or the error) the parser gives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerplan.errors import LockfileError
from layerplan.lockfiles._common import Entries
from tests.fuzz.oracle import FUZZ

PIECES = ["six", "Six", "a", "_", ".", "-", ">=", "<", "==", "~=", "!=", "===", ",", "1", "0", ".*", "+l", "a1", " ", "[x]", ";"]
CANDIDATES = {"six": ["1.0", "2.0"], "attrs": ["25.3.0"]}


def outcome(read: Callable[[], object]) -> object:
    try:
        return read()
    except LockfileError as exc:
        return ("error", str(exc))


def check(text: str) -> None:
    fast = Entries(Path("pdm.lock"), "", "hint")
    slow = Entries(Path("pdm.lock"), "", "hint")
    got = outcome(lambda: fast.requirement_edge(text, CANDIDATES, line=3, key="k"))
    expected = outcome(lambda: slow.dependency(slow.requirement(text, line=3, key="k"), CANDIDATES))
    assert got == expected, text


@pytest.mark.parametrize(
    "text",
    [
        "six", "six>=1.5", "six>=1.5,<2", "six<2", "six==1.0", "six!=1.0", "six~=1.0", "six~=1", "six===1.0",
        "six>=1.0.*", "six==1.*", "six>=1,,<2", "six>=1,", "Six_X.y>=1", "six-", "-six", "six>=1.0+local",
        "six==1.0+local", "six >=1", "six[socks]>=1", "six>=1; python_version<'3'", "six @ https://x/y.whl",
        "six>=v1", "six>=1.0a", "six>=1.0-foo", "attrs>=25", "", "six>=", "six>=1.0,<2.0,!=1.5.*",
    ],
)  # fmt: skip
def test_known_texts(text: str) -> None:
    check(text)


@FUZZ
@given(st.lists(st.sampled_from(PIECES), max_size=8))
def test_generated_texts(parts: list[str]) -> None:
    check("".join(parts))


def test_repeated_text_is_one_edge() -> None:
    entries = Entries(Path("pdm.lock"), "", "hint")
    assert entries.requirement_edge("six>=1", CANDIDATES, line=1, key="k") is entries.requirement_edge(
        "six>=1", CANDIDATES, line=1, key="k"
    )
