"""``layerplan._toml_split``: a lock parsed a few entries at a time by toml-rs reads as
tomli reads the whole text, never crashes on deep nesting, and errors as before.

Differential, like tests/test_toml.py: every TOML fixture and the lock fuzzer's
mutations of them. Where the split path answers, tomli must accept the whole text and
give the same values; where tomli refuses, the split path must decline (``None``), so
the whole-text parse words the error with its line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli
from hypothesis import given
from hypothesis import strategies as st

import layerplan._toml_split as split
from layerplan._toml import load_toml, loads_toml
from layerplan.errors import LockfileError
from tests.fuzz.mutations import mutated_bytes, mutated_tree, to_text
from tests.fuzz.oracle import FUZZ
from tests.test_toml import TOML_FIXTURES, TOML_SEEDS, same

pytest.importorskip("toml_rs")

NAMES = ("package", "packages")


def agree(text: str, name: str) -> Any:
    """The split path answers only what tomli accepts, with tomli's values."""
    try:
        expected: Any = tomli.loads(text)
    except (tomli.TOMLDecodeError, RecursionError):
        expected = None
    got = split.loads_split(text, name, loads_toml)
    if got is not None:
        assert expected is not None, f"split path accepts what tomli refuses: {text[:300]!r}"
        assert same(got, expected), text[:300]
    return got


@pytest.mark.parametrize("path", TOML_FIXTURES, ids=lambda p: p.name + ":" + p.parent.name)
def test_fixture_split_alike(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    answered = [agree(text, name) for name in NAMES]
    if path.name in ("uv.lock", "poetry.lock", "pdm.lock") and "\n[[package]]" in text:
        assert answered[0] is not None  # the fast path itself reads every real lock
    if path.name.startswith("pylock.") and "\n[[packages]]" in text:
        assert answered[1] is not None


@FUZZ
@given(data=st.data())
def test_mutated_bytes_split_alike(data: st.DataObject) -> None:
    raw = data.draw(mutated_bytes(tuple(seed.text for seed in TOML_SEEDS)))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    for name in NAMES:
        agree(text, name)


@FUZZ
@given(data=st.data())
def test_mutated_trees_split_alike(data: st.DataObject) -> None:
    text = to_text(data.draw(mutated_tree(tuple(seed.tree for seed in TOML_SEEDS))), "toml")
    for name in NAMES:
        agree(text, name)


ENTRY = '[[package]]\nname = "a"\nwheels = [{ url = "https://x/a-1-py3-none-any.whl" }]\n'


@pytest.mark.parametrize(
    ("text", "answers"),
    [
        # The usual shape, a table after the entries, and sub-tables of an entry.
        ('version = 1\n\n' + ENTRY + ENTRY + '[package.optional-dependencies]\nx = []\n\n[manifest]\nmembers = ["a"]\n', True),
        (ENTRY + '[manifest]\nm = 1\n' + ENTRY + '[extra]\ne = 2\n', True),
        # Spaced and quoted headers are entries too (they stay in the group before them).
        (ENTRY + '[[ package ]]\nname = "b"\n[["package"]]\nname = "c"\n' + ENTRY, True),
        # A cut inside a multi-line string, an array, an inline table: the group before
        # it does not end, so the whole text decides (here: one string, valid).
        ('x = """\n[[package]]\nname = "a"\n"""\n' + ENTRY, None),
        ("x = '''\n" + ENTRY + "'''\n" + ENTRY, None),
        ("x = [\n[[package]]\n]\n" + ENTRY, None),
        ("x = {\n" + ENTRY + "}\n", None),
        # The head defines the array itself, or a table twice across groups.
        ('package = []\n' + ENTRY, None),
        ('[manifest]\na = 1\n' + ENTRY + '[manifest]\nb = 2\n', None),
        ('[tool.a]\nx = 1\n' + ENTRY + '[tool.b]\ny = 2\n', None),  # valid TOML: the whole text reads it
        # A byte-order mark, no entries at all.
        ('\ufeff' + ENTRY, None),
        ('version = 1\n', None),
    ],
)
def test_cuts_and_merges(text: str, answers: bool | None) -> None:
    got = agree(text, "package")
    assert (got is not None) == bool(answers)


def test_entries_and_tables_in_whole_text_order() -> None:
    text = 'version = 1\n' + ENTRY + '[manifest]\nm = 1\n' + ENTRY.replace('"a"', '"b"') + '[z]\nq = 1\n'
    got = split.loads_split(text, "package", loads_toml)
    assert got is not None
    assert list(got) == list(tomli.loads(text)) == ["version", "package", "manifest", "z"]
    assert [entry["name"] for entry in got["package"]] == ["a", "b"]


def test_toml_rs_only_sees_bounded_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every text given to toml-rs holds at most MAX_BRACKETS brackets and MAX_DOTS dots:
    the bound on its nesting. A heavier entry goes to the capped parsers, alone."""
    seen: list[str] = []
    real = split._rs_loads()
    assert real is not None

    def spy(piece: str) -> dict[str, Any]:
        seen.append(piece)
        return real(piece)

    monkeypatch.setattr(split, "_rs_loads", lambda: spy)
    heavy = '[[package]]\nname = "h"\ndependencies = [' + ", ".join(f'{{ name = "d{i}" }}' for i in range(400)) + "]\n"
    dotted = '[[package]]\nname = "d"\nurls = ["' + "." * 1200 + '"]\n'
    text = "version = 1\n" + ENTRY * 300 + heavy + ENTRY * 50 + dotted + ENTRY * 10
    got = split.loads_split(text, "package", loads_toml)
    assert got is not None and same(got, tomli.loads(text))
    assert len(seen) > 5
    for piece in seen:
        assert piece.count("[") + piece.count("{") <= split.MAX_BRACKETS
        assert piece.count(".") <= split.MAX_DOTS
    assert not any('name = "h"' in piece or 'name = "d"' in piece for piece in seen)


@pytest.mark.parametrize(
    "text",
    [
        "[[package]]\nx = " + "[" * 20000 + "]" * 20000 + "\n",  # one entry, deep
        # Deep across cuts: each group is shallow, the whole text is not.
        "".join("[[package]]\nx = " + "[" * 200 + "\n" for _ in range(100)),
        "".join("[[package]]\nx = " + "{a = " * 150 + "\n" for _ in range(100)),
    ],
    ids=["one-entry", "across-cuts-arrays", "across-cuts-tables"],
)
def test_deep_nesting_is_one_line_not_a_crash(tmp_path: Path, text: str) -> None:
    """In a child process: a parser without a nesting limit would kill it."""
    path = tmp_path / "uv.lock"
    path.write_text(text, encoding="utf-8")
    code = (
        "import sys\nfrom pathlib import Path\nfrom layerplan._toml import load_toml\n"
        "from layerplan.errors import LockfileError\n"
        "try:\n    load_toml(Path(sys.argv[1]), LockfileError, 'package')\n"
        "except LockfileError as exc:\n    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "nested too deeply" in done.stdout or "invalid TOML" in done.stdout


def test_error_in_one_entry_keeps_its_line(tmp_path: Path) -> None:
    entries = "".join(f'[[package]]\nname = "p{i}"\nversion = "1"\n\n' for i in range(2000))
    text = "version = 1\n\n" + entries + '[[package]]\nname = "bad"\nwheels = [\n  { url = "x" },,\n]\n' + entries
    path = tmp_path / "uv.lock"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LockfileError) as caught:
        load_toml(path, LockfileError, "package")
    assert caught.value.line == 2 + 4 * 2000 + 4
    assert str(caught.value).startswith(f"{path}:{caught.value.line}: invalid TOML: ")


READERS = {"uv.lock": "uv", "poetry.lock": "poetry", "pdm.lock": "pdm"}
LOCK_FIXTURES = sorted(
    p for p in TOML_FIXTURES if p.name in READERS or (p.name.startswith("pylock.") and p.suffix == ".toml")
)


@pytest.mark.parametrize("path", LOCK_FIXTURES, ids=lambda p: p.parent.name + "/" + p.name)
def test_readers_read_the_same_lock_either_way(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every real lock in the fixtures reads to the same ``Lock`` (packages, files, hashes,
    markers, lines) through the split path as through the whole-text parse."""
    from layerplan.planning import available_formats

    formats = {f.name: f for f in available_formats()}
    reader = formats[READERS.get(path.name, "pylock")]
    try:
        split_lock: Any = reader.read(path)
    except LockfileError as exc:
        split_lock = str(exc)
    monkeypatch.setattr(split, "_rs_loads", lambda: None)  # toml-rs "not installed": the whole text
    try:
        whole_lock: Any = reader.read(path)
    except LockfileError as exc:
        whole_lock = str(exc)
    assert split_lock == whole_lock
