"""Several platforms in one build: parsed once, one target per platform, one plan per
platform, and which layers they share (planning only: no engine, no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from layerplan.errors import ConfigError, TargetError
from layerplan.image.platform import DetectedPlatform
from layerplan.oci.platform import Platform
from layerplan.plan.config import check_option
from layerplan.plan.multi import multi_plan_json, shared_layers
from layerplan.resolution import Request, command_line_layer, plan_platforms, resolve_build
from layerplan.resolution.options import OptionLayer, merge_layers
from layerplan.resolution.target import decide_target, requested_platforms
from layerplan.target import parse_platforms

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-project"


def test_platforms_are_parsed_once_in_order_each_once() -> None:
    assert parse_platforms("linux/arm64, linux/x86_64,linux/aarch64") == (
        Platform(os="linux", architecture="arm64"),
        Platform(os="linux", architecture="amd64"),
    )
    with pytest.raises(TargetError, match="unsupported platform 'linux/s390x'"):
        parse_platforms("linux/amd64,linux/s390x")
    with pytest.raises(TargetError, match="no platform"):
        parse_platforms(" , ")


@pytest.mark.parametrize("raw", [["linux/amd64", "linux/arm64"], "linux/amd64,linux/arm64", ["linux/x86_64", "linux/arm64/v8"]])
def test_a_list_in_config_and_a_comma_list_on_the_command_line_mean_the_same(raw: object) -> None:
    assert check_option("platform", raw) == "linux/amd64,linux/arm64"


def test_a_bad_entry_in_the_list_names_the_setting() -> None:
    with pytest.raises(ConfigError) as caught:
        check_option("platform", ["linux/amd64", "windows/amd64"], full_key="tool.layerplan.platform")
    assert "tool.layerplan.platform" in str(caught.value) and "windows/amd64" in str(caught.value)


def test_each_platform_is_decided_against_its_own_base_entry() -> None:
    settings = merge_layers([OptionLayer(origin="command line", values={"platform": "linux/amd64,linux/arm64"}, keys={"platform": "--platform"})])
    assert [str(p) for p in requested_platforms(settings)] == ["linux/amd64", "linux/arm64"]
    arm64 = DetectedPlatform(
        os="linux", arch="arm64", variant="v8", python_version="3.11.2", python_path="/usr/bin/python3.11",
        libc_family="glibc", libc_version="2.36",
    )  # fmt: skip
    decision = decide_target(settings, None, arm64, "base", platform=Platform(os="linux", architecture="arm64"))
    assert decision.target.describe() == "cpython3.11 linux/arm64 glibc-2.36"
    # a base entry of another platform than the one it was opened for is refused, naming it
    with pytest.raises(TargetError, match="--platform asks for linux/amd64, but base image base is linux/arm64"):
        decide_target(settings, None, arm64, "base", platform=Platform(os="linux", architecture="amd64"))


def resolve_example(platform: str) -> Request:
    options = command_line_layer({"platform": ("--platform", platform)})
    return Request(project=EXAMPLE, options=options, index_sizes=False)


def test_one_target_and_one_plan_per_platform_with_the_shared_layers() -> None:
    with resolve_build(resolve_example("linux/amd64,linux/arm64")) as resolved:
        assert resolved.several_platforms
        assert [p.target.platform for p in resolved.platforms] == ["linux/amd64", "linux/arm64"]
        planned = plan_platforms(resolved)
    plans = [plan for _, plan in planned]
    assert [one.target.arch for one, _ in planned] == ["amd64", "arm64"]
    numpy = [next(i for i in plan.install_set.items if i.name == "numpy") for plan in plans]
    assert "x86_64" in (numpy[0].wheel.filename or "") and "aarch64" in (numpy[1].wheel.filename or "")  # type: ignore[union-attr]
    shared = shared_layers(plans)
    assert shared == ("environment", "deps-1-of-4", "deps-2-of-4", "deps-4-of-4", "local", "app")
    document = multi_plan_json(plans)
    assert document["schema"] == "layerplan.plan-index/1"
    assert [p["target"]["platform"] for p in document["platforms"]] == ["linux/amd64", "linux/arm64"]
    assert document["shared_layers"] == list(shared)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "layerplan", *args], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"},
        check=False,
    )  # fmt: skip


def test_plan_json_of_one_platform_keeps_its_shape() -> None:
    one = cli("plan", str(EXAMPLE), "--platform", "linux/arm64", "--json", "--no-index")
    assert one.returncode == 0, one.stderr
    document = json.loads(one.stdout)
    assert document["schema"] == "layerplan.plan/1" and document["target"]["platform"] == "linux/arm64"


def test_plan_text_marks_the_shared_layers() -> None:
    both = cli("plan", str(EXAMPLE), "--platform", "linux/amd64,linux/arm64", "--no-index")
    assert both.returncode == 0, both.stderr
    assert "for cpython3.11 linux/amd64 glibc-2.36" in both.stdout and "for cpython3.11 linux/arm64 glibc-2.36" in both.stdout
    assert "app (shared)" in both.stdout
    assert both.stdout.rstrip().splitlines()[-1].startswith(
        "2 platforms (linux/amd64, linux/arm64) under one index; shared by all, built and uploaded once: environment,"
    )


def test_a_dockerfile_is_for_one_platform(tmp_path: Path) -> None:
    result = cli("dockerfile", str(EXAMPLE), "--platform", "linux/amd64,linux/arm64", "-o", str(tmp_path / "ctx"))
    assert result.returncode == 2
    assert "a Dockerfile is for one platform, and linux/amd64, linux/arm64 were asked for" in result.stderr
