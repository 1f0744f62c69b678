"""``layerplan._toml``: the fast TOML parsers (toml-rs on a text within its nesting bounds,
else rtoml) read every text as tomli does.

Differential: every TOML file in tests/fixtures (the real lockfiles and pyproject.toml
files) and the lock fuzzer's mutations of them (tests/fuzz) are parsed by toml-rs (when
the text is within the bounds), rtoml and tomli. Where a fast parser accepts a text, tomli
must accept it too and give the same values (same types: dates, times, offset datetimes,
inline tables, arrays of tables). Where they refuse, ``loads_toml`` gives tomli's answer. A syntax error still reads as one
line with the file and the line number.
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Any

import pytest
import rtoml
import tomli
from hypothesis import given
from hypothesis import strategies as st

from layerplan._toml import load_toml, loads_toml
from layerplan._toml_split import loads_bounded
from layerplan.errors import LockfileError
from tests.fuzz.mutations import mutated_bytes, mutated_tree, to_text
from tests.fuzz.oracle import FUZZ
from tests.fuzz.seeds import FORMATS, PYPROJECTS

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOML_FIXTURES = sorted(
    p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in (".toml", ".lock") and p.name != "Pipfile.lock"
)
TOML_SEEDS = tuple(seed for f in FORMATS if f.kind == "toml" for seed in f.seeds) + tuple(PYPROJECTS)


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types; ``nan`` equals ``nan``; an offset datetime's
    ``tzinfo`` may be of another class if its offset is the same."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, (datetime.datetime, datetime.time)):
        return a.replace(tzinfo=None) == b.replace(tzinfo=None) and a.utcoffset() == b.utcoffset()
    return bool(a == b)


def agree(text: str) -> None:
    """rtoml accepts only what tomli accepts, with the same values; ``loads_toml`` is tomli."""
    try:
        expected: Any = tomli.loads(text)
    except (tomli.TOMLDecodeError, RecursionError) as exc:
        expected = type(exc)
    try:
        fast: Any = rtoml.loads(text)
    except rtoml.TomlParsingError:
        fast = None
    if fast is not None and not text.startswith("\ufeff"):
        assert not isinstance(expected, type), f"rtoml accepts what tomli refuses: {text[:300]!r}"
        assert same(fast, expected), text[:300]
    bounded = loads_bounded(text)
    if bounded is not None:
        assert not isinstance(expected, type), f"toml-rs accepts what tomli refuses: {text[:300]!r}"
        assert same(bounded, expected), text[:300]
    try:
        got: Any = loads_toml(text)
    except (tomli.TOMLDecodeError, RecursionError) as exc:
        got = type(exc)
    assert got is expected if isinstance(expected, type) else same(got, expected)


def test_fixtures_found() -> None:
    assert len(TOML_FIXTURES) > 30
    assert {p.name for p in TOML_FIXTURES} >= {"uv.lock", "pylock.toml", "poetry.lock", "pdm.lock", "pyproject.toml"}


@pytest.mark.parametrize("path", TOML_FIXTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_parsed_alike(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    # The fast path itself must read every real file (not only fall back to tomli).
    assert same(rtoml.loads(text), tomli.loads(text))
    agree(text)


def test_value_types_alike() -> None:
    """Every TOML value type a lock tool writes (and the rest of TOML 1.0)."""
    agree(
        'a = 1979-05-27\nb = 07:32:00.5\nc = 1979-05-27T07:32:00\nd = 1979-05-27T00:32:00.999999-07:00\n'
        'e = 2025-01-01T00:00:00Z\nf = [1, 2.5, "x", true, inf, -inf, nan, -0.0]\ng = 0x1F\nh = 0o17\ni = 0b11\n'
        "j = 1_000\nk = '''\nliteral\\n'''\nl = \"\"\"\\\n  folded \\u00e9\"\"\"\n"
        '[[p]]\nq = { r = [{ s = 1 }], "t.u" = 2 }\n[[p]]\n[p.v]\nw.x = 3\n'
    )


@pytest.mark.parametrize(
    "text",
    [
        "x = 1e1000",  # rtoml: overflow; tomli: inf
        "x = " + "[" * 150 + "]" * 150,  # deeper than rtoml's limit, within tomli's
        "x = " + "[" * 2000 + "]" * 2000,  # deeper than both
        "\ufeffx = 1",  # a byte-order mark: tomli refuses it
        "x = 1\nx = 2",
        'x = "\\uD800"',
    ],
    ids=["overflow", "deep", "too-deep", "bom", "duplicate", "surrogate"],
)
def test_edge_cases_read_as_tomli_reads_them(text: str) -> None:
    agree(text)


@FUZZ
@given(data=st.data())
def test_mutated_bytes_alike(data: st.DataObject) -> None:
    raw = data.draw(mutated_bytes(tuple(seed.text for seed in TOML_SEEDS)))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return  # refused before any parser runs (read_text)
    agree(text)


@FUZZ
@given(data=st.data())
def test_mutated_trees_alike(data: st.DataObject) -> None:
    agree(to_text(data.draw(mutated_tree(tuple(seed.tree for seed in TOML_SEEDS))), "toml"))


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "uv.lock"
    path.write_text('version = 1\n\n[[package]]\nname = "a"\nwheels = [\n  { url = "x" },,\n]\n', encoding="utf-8")
    with pytest.raises(LockfileError) as caught:
        load_toml(path, LockfileError)
    assert caught.value.line == 6
    assert str(caught.value).startswith(f"{path}:6: invalid TOML: ")
    assert "\n" not in str(caught.value)
