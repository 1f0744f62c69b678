"""Off a terminal the build report is written without loading rich, and reads exactly as
rich prints it: the same reports go through rich (a console on a file, as ``results()``
makes for a pipe) and through the plain path (stdout captured: not a terminal), and the
texts must be equal. A report with something rich would change (markup, an emoji code, a
tab, a non-ASCII name) takes rich's path, so it too prints as before.
"""

from __future__ import annotations

import io

import pytest

import layerplan.console
from layerplan.console import plain_table, plain_text, results
from layerplan.containerize.report import BuildReport, LayerResult, print_report
from layerplan.transports.protocol import BlobResult, OutputResult

DIGEST = "sha256:" + "ab" * 32
CONFIG = "sha256:" + "cd" * 32


def layer(name: str, kind: str, status: str, size: int, n: int, reused_from: str | None = None) -> LayerResult:
    return LayerResult(name=name, kind=kind, digest=f"sha256:{n:064x}", size=size, status=status, reused_from=reused_from)


LAYERS = (
    layer("base", "base", "base", 44_900_000, 1),
    layer("base", "base", "base", 1_000, 2),
    layer("environment", "environment", "cached", 385, 3),
    layer("dep-numpy", "dependencies", "built", 21_300_000, 4),
    layer("deps-1-of-2", "dependencies", "reused", 472_900, 5, reused_from="127.0.0.1:5000/app:cache"),
    layer("app", "app", "built", 4_300, 6),
)


def report(spec: str = "docker://127.0.0.1:5000/plain/app:latest", name: str = "app", **extra: object) -> BuildReport:
    blobs = tuple(
        BlobResult(digest=l.digest, size=l.size, status=status, bytes_uploaded=l.size if status == "pushed" else 0)
        for l, status in zip(LAYERS, ("mounted", "present", "present", "pushed", "present", "pushed"), strict=True)
    )
    outputs = (
        OutputResult(
            spec=spec, kind="registry", location=spec, blobs=blobs, tags=("latest", "1.0"),
            attached=(("application/spdx+json", "sha256:" + "ef" * 32),), attached_via="tag sha256-abc",
        ),
        OutputResult(spec="oci:/tmp/out", kind="oci", location="/tmp/out", unchanged=True),
    )  # fmt: skip
    layers = tuple(l if l.name != "app" else layer(name, "app", "built", 4_300, 6) for l in LAYERS)
    return BuildReport(
        image_digest=DIGEST, config_digest=CONFIG, base="127.0.0.1:5000/python:3.11-bookworm", base_digest=None,
        target="cpython3.11 linux/amd64 glibc-2.36", layers=layers, outputs=outputs, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def through_rich(built: BuildReport) -> str:
    out = io.StringIO()
    print_report(built, results(out))
    return out.getvalue()


def plainly(built: BuildReport, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    print_report(built)
    return capsys.readouterr().out


@pytest.fixture(autouse=True)
def a_log(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TTY_COMPATIBLE", "FORCE_COLOR", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


def test_a_piped_report_reads_as_rich_prints_it(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    built = report()
    expected = through_rich(built)
    assert "layer" in expected and "pushed" in expected and "1 layer(s) reused from" in expected
    monkeypatch.setattr(layerplan.console, "results", lambda *_: pytest.fail("the report made a rich console"))
    assert plainly(built, capsys) == expected
    multi = report(platforms=(report(), report()), shared_layers=("environment",))
    assert plainly(multi, capsys) == through_rich(multi)


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("docker://127.0.0.1:5000/plain/[bold]app:latest", "app"),  # markup
        ("docker://127.0.0.1:5000/plain/app:smile:", "app"),  # an emoji code
        ("docker://127.0.0.1:5000/plain/app:latest", "app\twith-a-tab"),
        ("docker://127.0.0.1:5000/plain/app:latest", "appé"),  # non-ASCII: rich measures it
    ],
)
def test_what_rich_would_change_goes_through_rich(spec: str, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    built = report(spec, name)
    assert plainly(built, capsys) == through_rich(built)


@pytest.mark.parametrize(
    "spec",
    ["oci:/tmp/[bold]out", "oci:/tmp/out:smile:", "oci:/tmp/\x1b]0;title\x07out", "oci:/tmp/\x1b[31mred\u202e"],
)
def test_an_output_s_spec_is_shown_as_it_is(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Off a terminal and through rich alike: the spec as typed (not read as markup or an
    emoji code), its control characters escaped (none reaches the terminal)."""
    built = report(spec)
    shown = spec.encode("unicode_escape").decode("ascii") if not spec.isprintable() else spec
    for printed in (plainly(built, capsys), through_rich(built)):
        assert f"\n{shown}: 2 blob(s) pushed" in printed
        assert "\x1b" not in printed and "\x07" not in printed and "\u202e" not in printed


def test_plain_text_says_none_for_what_rich_changes() -> None:
    assert plain_text("docker://127.0.0.1:5000/a/b:latest: written") == "docker://127.0.0.1:5000/a/b:latest: written"
    assert plain_text("a :smile: b") is None
    assert plain_text("a [bold]b") is None and plain_text("a [bold]b", markup=False) == "a [bold]b"
    assert plain_text("tab\there") is None and plain_text("bell\a") is None and plain_text("é") is None


def test_plain_table_pads_like_a_borderless_rich_table() -> None:
    columns = (("name", "left"), ("size", "right"), ("status", "left"))
    assert plain_table(columns, [["a", "1 B", "cached"], ["longer", "10.5 kB", ""]]) == [
        "name       size  status",
        "a           1 B  cached",
        "longer  10.5 kB",
    ]
    assert plain_table(columns, [["a", "1 B", "[x]"]]) is None


def _rich_table(columns: tuple[tuple[str, str], ...], rows: list[list[str]]) -> list[str]:
    from rich.table import Table

    from layerplan.console import print_table

    table = Table(box=None, pad_edge=False, show_edge=False)
    for header, justify in columns:
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*row)
    out = io.StringIO()
    print_table(results(out), table)
    return out.getvalue().splitlines()


@pytest.mark.parametrize(
    "rows", [[], [["ok  ", "1 B"]], [["ok", " 1 B"]], [["", "1 B"], ["longer", "1 B "]]], ids=["none", "trailing", "leading", "mixed"]
)
def test_plain_table_is_rich_s_or_none(rows: list[list[str]]) -> None:
    """A table with no rows, or with a cell rich trims (space at an end), is printed as
    rich prints it or left to rich: never another layout, never an exception."""
    columns = (("name", "left"), ("size", "right"))
    plain = plain_table(columns, rows)
    assert plain is None or plain == _rich_table(columns, rows)


def test_piped_means_not_a_terminal_unless_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    assert layerplan.console.is_plain(io.StringIO())
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert not layerplan.console.is_plain(io.StringIO())


def test_a_warning_lets_no_control_character_through(capsys: pytest.CaptureFixture[str]) -> None:
    """A warning quoting a registry's answer: its escape sequence is shown escaped, off a
    terminal and through rich alike."""
    layerplan.console.warn("cache ref: \x1b]0;title\x07 denied")
    out = io.StringIO()
    layerplan.console.warn("cache ref: \x1b]0;title\x07 denied", results(out))
    for printed in (capsys.readouterr().err, out.getvalue()):
        assert printed == "warning: cache ref: \\x1b]0;title\\x07 denied\n"
