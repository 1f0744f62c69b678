"""Structure-aware mutations, as Hypothesis strategies.

``mutated_tree(seed)`` takes a parsed file (dicts, lists, scalars) and applies one to four
mutations at nodes it picks: delete a key or item, change a value's type (string,
integer, float, boolean, date/time, array, table), empty it, duplicate an array entry,
rename a key, copy another node of the same file over it (a realistic value in the wrong
place), nest it, or perturb a string the way a hand edit, a merge or an attacker would
(huge, empty, control characters, invalid versions, markers, hashes, paths, and URLs
that carry credentials). ``to_text`` writes the tree back in the format;
``mutated_bytes`` then works on the raw text (truncation, inserted lines and bytes,
invalid UTF-8, deep nesting) to reach the parsers' own error paths.

Every credential put into a URL contains ``SECRET``: no output may ever show it.
"""

from __future__ import annotations

import copy
import datetime
import json
from typing import Any

import tomlkit
from hypothesis import assume
from hypothesis import strategies as st

__all__ = ["SECRET", "mutated_bytes", "mutated_tree", "to_text"]

SECRET = "FUZZs3cretTOKEN"
"""The password put into URLs; it must appear in no error, output or cache file."""

Path_ = tuple[Any, ...]

_STRINGS = (
    "",
    " ",
    "x" * 5000,
    "\x00",
    "a\nb",
    "\u202e\u0000\ud7ff\U0001f40d",
    "1..0",
    "==",
    "=== ",
    "*",
    "v1.0-foo.bar+",
    "python_version <<< '3'",
    "sys_platform == 'linux' and",
    "(" * 300 + "python_version > '3'" + ")" * 300,
    "extra == 'x' or",
    "'dev' in dependency_groups",
    "sha256:zz",
    "md5:d41d8cd98f00b204e9800998ecf8427e",
    "sha256:" + "0" * 63,
    "sha256=" + "a" * 64,
    "../../../../etc/passwd",
    "/etc/passwd",
    "/dev/zero",
    "~/x",
    "C:\\x\\y.whl",
    ".",
    "..",
    "file:///etc/passwd",
    "git+https://host/repo@",
    "hg+https://host/repo",
    f"https://fuzz:{SECRET}@pypi.example/simple",
    "https://[::1",
    "http://%zz/",
    "pkg @ https://host/x-1.0-py3-none-any.whl",
    "-r requirements.txt",
    "-e .",
    "--hash",
    "name[extra",
    "a" * 300 + ".whl",
    "./" + "d" * 300,
    "./" + "d" * 300 + "/x-1.0.tar.gz",
    "ñame-1.0.tar.gz",
)


def _credentials(text: str) -> str:
    """``scheme://host/...`` -> ``scheme://fuzz:SECRET@host/...`` (the first URL in ``text``)."""
    head, sep, tail = text.partition("://")
    return f"{head}{sep}fuzz:{SECRET}@{tail.split('@', 1)[-1]}" if sep else text


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(_STRINGS),
    st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc)),
    st.dates(),
    st.times(),
)
_values = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _string_mutation(draw: st.DrawFn, text: str) -> str:
    choice = draw(st.integers(0, 6))
    if choice == 0:
        return _credentials(text) if "://" in text else draw(st.sampled_from(_STRINGS))
    if choice == 1:
        return draw(st.sampled_from(_STRINGS))
    if choice == 2:  # a typo: cut, or insert a character
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.text(max_size=2)) + text[at + draw(st.integers(0, 2)) :]
    if choice == 3:
        return text + draw(st.sampled_from(_STRINGS))
    if choice == 4:
        return draw(st.sampled_from(_STRINGS)) + text
    if choice == 5:
        return text.upper()
    return text * draw(st.integers(2, 50))


def _nodes(tree: Any, path: Path_ = ()) -> list[Path_]:
    out = [path]
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.extend(_nodes(value, (*path, key)))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            out.extend(_nodes(value, (*path, index)))
    return out


def _get(tree: Any, path: Path_) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def _mutate_once(draw: st.DrawFn, tree: Any) -> Any:
    nodes = _nodes(tree)
    path = draw(st.sampled_from(nodes))
    node = _get(tree, path)
    operation = draw(st.sampled_from(("delete", "retype", "empty", "string", "copy", "duplicate", "rename", "nest")))
    if not path:  # the root itself: replace it (a file that is a bare array, a string...)
        return draw(_values) if operation == "retype" else tree
    parent, last = _get(tree, path[:-1]), path[-1]
    if operation == "delete":
        del parent[last]
    elif operation == "retype":
        parent[last] = draw(_values)
    elif operation == "empty":
        parent[last] = type(node)() if isinstance(node, (dict, list, str)) else None
    elif operation == "string":
        if isinstance(node, str):
            parent[last] = _string_mutation(draw, node)
        else:
            parent[last] = draw(st.sampled_from(_STRINGS))
    elif operation == "copy":
        parent[last] = copy.deepcopy(_get(tree, draw(st.sampled_from(nodes))))
    elif operation == "duplicate" and isinstance(parent, list):
        parent.insert(last, copy.deepcopy(node))
    elif operation == "rename" and isinstance(parent, dict):
        new_key = draw(st.sampled_from((str(last).upper(), str(last).replace("-", "_"), str(last) + "x", "")) | st.text(max_size=6))
        parent[new_key] = parent.pop(last)
    else:  # nest (or an operation that does not apply here): wrap the node
        for _ in range(draw(st.integers(1, 40))):
            node = [node] if draw(st.booleans()) else {"x": node}
        parent[last] = node
    return tree


@st.composite
def mutated_tree(draw: st.DrawFn, seeds: tuple[Any, ...]) -> Any:
    """A deep copy of one of ``seeds`` with one to four structural mutations."""
    tree = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        tree = _mutate_once(draw, tree)
    return tree


def _without_none(value: Any) -> Any:
    """TOML has no null: drop ``None`` (a deleted value, in effect)."""
    if isinstance(value, dict):
        return {str(k): _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value


def to_text(tree: Any, kind: str) -> str:
    """``tree`` written as ``kind`` (``toml``, ``json`` or ``lines``); a tree the format
    cannot hold at all (a TOML document that is not a table) is rejected."""
    if kind == "json":
        return json.dumps(tree, indent=4, default=str)
    if kind == "lines":
        rows = tree if isinstance(tree, list) else [tree]
        return "\n".join(" ".join(map(str, row)) if isinstance(row, list) else str(row) for row in rows) + "\n"
    document = _without_none(tree)
    assume(isinstance(document, dict))
    try:
        return tomlkit.dumps(document)
    except (TypeError, ValueError, RecursionError):  # a value tomlkit cannot write (e.g. a huge int)
        assume(False)
        raise AssertionError("unreachable") from None


_SNIPPETS = (
    "x = " + "[" * 2000 + "]" * 2000,
    "x = " + "{a=" * 2000 + "1" + "}" * 2000,
    "[" * 5000,
    '{"a":' * 5000,
    "[" + "a." * 3000 + "b]",
    "a." * 3000 + "b = 1",
    "<<<<<<< HEAD",
    "=======",
    ">>>>>>> branch",
    "[[package]]",
    '[package]\nname = "x"',
    "[metadata]",
    "\ufeff",
    '"""',
    "x = 1\nx = 2",
    f'url = "https://fuzz:{SECRET}@pypi.example/simple/"',
    f"--index-url https://fuzz:{SECRET}@pypi.example/simple",
    f"-e git+https://fuzz:{SECRET}@host/repo.git@abc#egg=x",
    "-r requirements.txt",
    "-r /dev/zero",
    "-r ..",
    "pkg==1.0 --hash=sha256:" + "a" * 64 + " \\",
    "\\",
)


@st.composite
def mutated_bytes(draw: st.DrawFn, texts: tuple[str, ...]) -> bytes:
    """One of ``texts`` as UTF-8, with one to three edits of the raw text or bytes."""
    data = draw(st.sampled_from(texts)).encode("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        line_start = data.rfind(b"\n", 0, at) + 1
        choice = draw(st.integers(0, 5))
        if choice == 0:  # truncated (an interrupted write)
            data = data[:at]
        elif choice == 1:  # a snippet on a line of its own
            data = data[:line_start] + draw(st.sampled_from(_SNIPPETS)).encode() + b"\n" + data[line_start:]
        elif choice == 2:  # random bytes, maybe not UTF-8
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif choice == 3:  # a character changed
            data = data[:at] + draw(st.text(min_size=1, max_size=2)).encode() + data[at + 1 :]
        elif choice == 4:  # a line repeated (duplicate keys and entries)
            line_end = data.find(b"\n", at)
            line = data[line_start : (line_end if line_end != -1 else len(data))]
            data = data[:line_start] + line + b"\n" + data[line_start:]
        else:  # a stretch cut out
            data = data[:at] + data[at + draw(st.integers(1, 400)) :]
    return data
