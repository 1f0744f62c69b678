"""Targets decide markers and wheel tags."""

from __future__ import annotations

import pytest
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag

from layerplan.errors import TargetError
from layerplan.target import Libc, make_target


def test_glibc_target_accepts_older_manylinux_but_not_newer() -> None:
    target = make_target(python="3.11", platform="linux/amd64", libc="glibc-2.28")
    priority = target.tag_priority()
    assert Tag("cp311", "cp311", "manylinux_2_17_x86_64") in priority
    assert Tag("cp311", "cp311", "manylinux2014_x86_64") in priority
    assert Tag("cp311", "cp311", "manylinux_2_28_x86_64") in priority
    assert Tag("cp311", "cp311", "manylinux_2_34_x86_64") not in priority
    assert Tag("cp311", "cp311", "musllinux_1_2_x86_64") not in priority
    # a binary wheel for this exact interpreter beats the generic pure-Python one
    assert priority[Tag("cp311", "cp311", "manylinux_2_17_x86_64")] < priority[Tag("py3", "none", "any")]
    # abi3 wheels built for older Pythons install on newer ones
    assert Tag("cp38", "abi3", "manylinux_2_17_x86_64") in priority


def test_musl_arm64_target() -> None:
    target = make_target(python="3.13", platform="linux/arm64", libc="musl-1.2")
    priority = target.tag_priority()
    assert Tag("cp313", "cp313", "musllinux_1_2_aarch64") in priority
    assert Tag("cp313", "cp313", "musllinux_1_1_aarch64") in priority
    assert Tag("cp313", "cp313", "manylinux_2_17_aarch64") not in priority
    assert Tag("cp313", "cp313", "musllinux_1_2_x86_64") not in priority
    assert target.marker_environment()["platform_machine"] == "aarch64"


def test_marker_environment_is_the_targets_not_the_hosts() -> None:
    env = make_target(python="3.10", platform="linux/arm64").marker_environment()
    assert Marker("python_version < '3.11'").evaluate(env)
    assert not Marker("sys_platform == 'win32'").evaluate(env)
    assert Marker("platform_machine == 'aarch64'").evaluate(env)


def test_default_python_follows_requires_python() -> None:
    assert make_target().python_version == (3, 12)
    assert make_target(requires_python=SpecifierSet(">=3.13")).python_version == (3, 14)
    assert make_target(requires_python=SpecifierSet("<3.12,>=3.10")).python_version == (3, 11)
    with pytest.raises(TargetError, match="requires-python"):
        make_target(requires_python=SpecifierSet("<3.0"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"python": "three"}, "invalid Python version"),
        ({"platform": "windows/amd64"}, "unsupported platform"),
        ({"platform": "linux/riscv64"}, "unsupported platform"),
        ({"libc": "bionic-1"}, "invalid libc"),
    ],
)
def test_bad_target_options_are_named(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(TargetError, match=message) as info:
        make_target(**kwargs)
    assert info.value.hint


def test_libc_parse_spellings() -> None:
    assert Libc.parse("glibc-2.36") == Libc("glibc", 2, 36)
    assert Libc.parse("musl_1.2") == Libc("musl", 1, 2)
    assert str(Libc.parse("GLIBC 2.28")) == "glibc-2.28"
