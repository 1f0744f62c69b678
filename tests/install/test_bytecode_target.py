"""Bytecode is compiled for the target's Python, never the host's: an interpreter of the
image's own ``3.X.Y`` is preferred (a pyc can differ between patch releases: 3.11.2 and
3.11.7 compile click's ``utils.py`` differently), whichever Python runs layerplan."""

from __future__ import annotations

import subprocess
import sys

import pytest

from layerplan.install import find_compiler


def full_version(executable: str) -> str:
    return subprocess.run(
        [executable, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_targets_patch_release_is_preferred_to_the_running_one() -> None:
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    system = f"/usr/bin/python{minor}"
    try:
        other = full_version(system)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"no {system} beside the running Python to choose between")
    running = "%d.%d.%d" % sys.version_info[:3]
    for wanted, path in ((other, system), (running, sys.executable)):
        found = find_compiler(minor, wanted)
        assert found is not None and found[1] == wanted
        if other != running:
            assert str(found[0]) == path


def test_without_the_exact_release_any_of_the_minor_compiles() -> None:
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    found = find_compiler(minor, f"{minor}.999")
    assert found is not None and found[1].startswith(f"{minor}.")
    assert find_compiler("3.99", "3.99.0") is None
