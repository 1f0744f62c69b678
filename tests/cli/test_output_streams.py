"""Where output goes and how it looks (issue 12, streams and flags): results on stdout,
warnings on stderr as one line each (also with -q and --json), no wrapping or padding off
a terminal, and no escape codes at all with NO_COLOR."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memregistry import MemRegistry, memregistry  # noqa: F401
from synthbase import SyntheticBase, synthetic_base  # noqa: F401

from tests.direct_build.test_build_direct import seed_base

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-project"
# netifaces has no wheel and its index entry no size: the plan warns about the size
COMPILED_SDIST = ROOT / "tests" / "fixtures" / "compiled-sdist"


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``layerplan`` piped, as in a CI log: no COLUMNS, no colour settings unless given."""
    base = {k: v for k, v in os.environ.items() if k not in {"COLUMNS", "NO_COLOR", "FORCE_COLOR", "TERM"}}
    return subprocess.run(
        [sys.executable, "-m", "layerplan", *args], capture_output=True, text=True, env={**base, **env}
    )


def test_piped_plan_lines_are_neither_wrapped_nor_padded() -> None:
    result = run("plan", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    reasons = [layer["reason"] for layer in json.loads(run("plan", str(EXAMPLE), "--json").stdout)["layers"]]
    assert any(len(reason) > 80 for reason in reasons), "the check needs a reason longer than 80 columns"
    for reason in reasons:
        assert any(reason in line for line in lines), f"reason split over lines: {reason!r}"
    assert all(line == line.rstrip() for line in lines), "trailing padding in piped output"
    assert "\x1b[" not in result.stdout + result.stderr


def test_warnings_are_one_line_each_on_stderr_and_in_the_json() -> None:
    text = run("plan", str(COMPILED_SDIST))
    assert text.returncode == 0, text.stderr
    assert "warning:" not in text.stdout
    warnings = [line.removeprefix("warning: ") for line in text.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings and len(warnings) == len(text.stderr.splitlines())
    as_json = run("plan", str(COMPILED_SDIST), "--json")
    assert json.loads(as_json.stdout)["warnings"] == warnings
    assert as_json.stderr.splitlines() == text.stderr.splitlines()  # JSON on stdout, warnings still said


def test_no_color_means_no_escape_codes_even_when_colour_is_forced() -> None:
    forced = run("plan", str(EXAMPLE), FORCE_COLOR="1")
    assert "\x1b[" in forced.stdout  # the check can fail: FORCE_COLOR does colour a pipe
    plain = run("plan", str(EXAMPLE), FORCE_COLOR="1", NO_COLOR="1")
    assert plain.returncode == 0, plain.stderr
    assert "\x1b[" not in plain.stdout + plain.stderr


def test_a_quiet_build_still_prints_its_warnings(
    memregistry: MemRegistry, synthetic_base: SyntheticBase, tmp_path: Path  # noqa: F811
) -> None:
    base_ref = seed_base(memregistry, synthetic_base)  # by tag: "not pinned by digest"
    args = ("build", str(EXAMPLE), "--base", base_ref, "--cache-dir", str(tmp_path / "cache"), "-o", f"oci:{tmp_path / 'oci'}")
    quiet = run(*args, "-q")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.strip().startswith("sha256:") and len(quiet.stdout.splitlines()) == 1
    pinned = [line for line in quiet.stderr.splitlines() if "is not pinned by digest" in line]
    assert len(pinned) == 1 and pinned[0].startswith("warning: base ")
    report = run(*args, "--json")
    assert json.loads(report.stdout)["warnings"] == [pinned[0].removeprefix("warning: ")]
    assert pinned[0] in report.stderr.splitlines()


def test_a_registry_output_without_a_tag_is_pushed_as_the_project_version(
    memregistry: MemRegistry, synthetic_base: SyntheticBase, tmp_path: Path  # noqa: F811
) -> None:
    base_ref = seed_base(memregistry, synthetic_base)
    common = ("build", str(EXAMPLE), "--base", base_ref, "--cache-dir", str(tmp_path / "cache"), "--json")
    untagged = run(*common, "-o", f"docker://{memregistry.address}/team/app")
    assert untagged.returncode == 0, untagged.stderr
    (output,) = json.loads(untagged.stdout)["outputs"]
    assert output["spec"] == f"docker://{memregistry.address}/team/app:0.1.0"  # example-project's version
    memregistry.manifest("team/app", "0.1.0")
    with pytest.raises(KeyError):  # an untagged push does not move :latest
        memregistry.manifest("team/app", "latest")


def test_every_command_help_ends_with_examples() -> None:
    for command in ("plan", "build", "dockerfile"):
        result = run(command, "--help")
        assert result.returncode == 0
        tail = result.stdout.rsplit("examples:\n", 1)
        assert len(tail) == 2, f"{command} --help has no examples"
        assert tail[1].lstrip().startswith(f"layerplan {command}")


def test_dockerfile_json_and_quiet(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    as_json = run("dockerfile", str(EXAMPLE), "-o", str(context), "--json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["context"] == str(context)
    assert {f["path"] for f in document["files"]} >= {"Dockerfile", ".dockerignore"}
    assert sum(f["size"] for f in document["files"]) == sum(p.stat().st_size for p in context.rglob("*") if p.is_file())
    plan = json.loads(run("plan", str(EXAMPLE), "--json").stdout)
    assert [layer["key"] for layer in document["layers"]] == [layer["key"] for layer in plan["layers"]]
    quiet = run("dockerfile", str(EXAMPLE), "-o", str(tmp_path / "ctx2"), "-q")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.splitlines() == [str(tmp_path / "ctx2")]
