"""The docs example runner itself: what counts as an example, and how output is compared."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.docs.examples import collect, matches, script_for, split_output

PAGE = """# A page

```console
$ echo one \\
>   two
one two
$ false
$ echo $?
1
```

<!-- docs-test: project=tests/fixtures/monorepo -->
```console
$ ls
```

```bash
$ not run
```
"""


def test_console_blocks_are_examples_with_their_commands_and_project(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    first, second = collect([page])
    assert first.test_id == "page.md:4" and first.project == "example-project"
    assert [(c.line, c.text, c.expected) for c in first.commands] == [
        (4, "echo one \\\n  two", ("one two",)), (7, "false", ()), (8, "echo $?", ("1",)),
    ]
    assert second.project == "tests/fixtures/monorepo" and second.commands[0].expected == ()


def test_each_command_gets_its_own_output_and_status(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    example = collect([page])[0]
    out = subprocess.run(["bash", "-c", script_for(example)], capture_output=True, text=True).stdout
    assert split_output(out, 3) == [("one two\n", 0), ("", 1), ("1\n", 0)]


def test_ellipsis_and_whitespace() -> None:
    assert matches(("a ... c",), "a  b b  c\n")
    assert matches(("first", "...", "last"), "first\nlast\n")
    assert matches(("first", "...", "last"), "first\n1\n2\nlast\n")
    assert matches(("x   y",), "x y   \n\n")
    assert not matches(("first", "last"), "first\nmiddle\nlast\n")
    assert not matches((), "something\n")
    assert not matches(("a",), "a\nb\n")
