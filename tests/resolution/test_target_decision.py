"""The target is decided once: explicit options, else what the base runs, else defaults --
and an option the base cannot run is an error naming both sides."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from layerplan.errors import TargetError
from layerplan.image.platform import DetectedPlatform
from layerplan.resolution.options import OptionLayer, merge_layers
from layerplan.resolution.target import decide_target

DEBIAN_311 = DetectedPlatform(
    os="linux", arch="amd64", variant=None, python_version="3.11.2", python_path="/usr/bin/python3.11",
    libc_family="glibc", libc_version="2.36",
)
NAME = "registry.example/python:3.11"


def settings(**values: str):  # type: ignore[no-untyped-def]
    return merge_layers([OptionLayer(origin="command line", values=values, keys={k: f"--{k}" for k in values})])


def test_the_base_decides_when_no_option_does() -> None:
    decision = decide_target(settings(), SpecifierSet(">=3.10"), DEBIAN_311, NAME)
    target = decision.target
    assert (target.python_version, target.python_full_version, target.python_path) == ((3, 11), "3.11.2", "/usr/bin/python3.11")
    assert (target.platform, str(target.libc)) == ("linux/amd64", "glibc-2.36")
    assert {decision.python_from, decision.platform_from, decision.libc_from} == {f"base image {NAME}"}


def test_options_that_agree_with_the_base_are_fine() -> None:
    decision = decide_target(settings(python="3.11", platform="linux/amd64", libc="glibc-2.28"), None, DEBIAN_311, NAME)
    assert str(decision.target.libc) == "glibc-2.28"  # an older glibc's wheels run on 2.36
    assert decision.libc_from == "--libc"
    assert decision.target.python_path == "/usr/bin/python3.11"


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ({"platform": "linux/arm64"}, "--platform asks for linux/arm64, but base image registry.example/python:3.11 is linux/amd64"),
        ({"libc": "musl-1.2"}, "--libc asks for musl-1.2, but base image registry.example/python:3.11 has glibc-2.36"),
        ({"libc": "glibc-2.39"}, "--libc asks for glibc-2.39, but base image registry.example/python:3.11 has glibc-2.36"),
        ({"python": "3.12"}, "--python asks for Python 3.12, but base image registry.example/python:3.11 has Python 3.11.2"),
        ({"python": "3.11.9"}, "--python asks for Python 3.11.9, but base image registry.example/python:3.11 has Python 3.11.2"),
    ],
)
def test_an_option_the_base_cannot_run_is_an_error_naming_both_sides(option: dict[str, str], says: str) -> None:
    with pytest.raises(TargetError) as caught:
        decide_target(settings(**option), None, DEBIAN_311, NAME)
    assert says in str(caught.value)
    assert caught.value.hint and "\n" not in str(caught.value)


def test_without_a_base_the_defaults_say_they_are_defaults() -> None:
    decision = decide_target(settings(), SpecifierSet(">=3.13"), None, None)
    assert decision.target.python_version == (3, 14)
    assert decision.python_from == "default for requires-python >=3.13"
    assert (decision.platform_from, decision.libc_from) == ("default", "default")
    assert decision.target.python_path is None
    explicit = decide_target(settings(python="3.10", platform="linux/aarch64"), None, None, None)
    assert (explicit.target.python_version, explicit.target.platform) == ((3, 10), "linux/arm64")
    assert (explicit.python_from, explicit.platform_from) == ("--python", "--platform")


def test_a_base_whose_libc_is_unknown_needs_the_option() -> None:
    static = DetectedPlatform(
        os="linux", arch="amd64", variant=None, python_version="3.12", python_path="/opt/python/bin/python3.12",
        libc_family=None, libc_version=None,
    )
    with pytest.raises(TargetError, match="C library"):
        decide_target(settings(), None, static, NAME)
    assert str(decide_target(settings(libc="musl-1.2"), None, static, NAME).target.libc) == "musl-1.2"
