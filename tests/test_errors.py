"""What every error prints (errors.py): one line, no control character."""

from __future__ import annotations

from layerplan.errors import LayerplanError


def test_an_error_quoting_a_registry_s_answer_is_one_line_without_control_characters() -> None:
    """A registry's error message (untrusted) with an escape sequence, a bell and a newline:
    each is shown escaped, none reaches the terminal as it is."""
    error = LayerplanError("answered HTTP 403 (DENIED: no \x1b]0;title\x07 way\x1b[2J\nnext)", hint="check\taccess")
    assert str(error) == "answered HTTP 403 (DENIED: no \\x1b]0;title\\x07 way\\x1b[2J\\nnext) (hint: check\\taccess)"
