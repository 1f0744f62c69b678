"""The build requirements of an sdist, pinned: resolved on the lock's indexes before a
build (they decide the wheel, so they key it), and read back from the environment after
it (what the build report says was installed).

Locks record no build requirements, so they are resolved when needed, for the Python that
runs the backend, with the installer of build environments (uv, else pip).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

from layerplan.install.pep517 import find_installer, index_options

__all__ = ["installed_requirements", "resolve_requirements"]


def resolve_requirements(requirements: Sequence[str], *, indexes: Sequence[str] = ()) -> tuple[str, ...]:
    """Every package ``requirements`` need, as sorted ``name==version`` pins, resolved on
    ``indexes`` (first is primary) for this interpreter. Raise
    ``subprocess.CalledProcessError`` (``pep517.backend_reason`` tells why)."""
    if not requirements:
        return ()
    installer = find_installer()
    if installer.executable is not None:
        command = [
            installer.executable, "pip", "compile", "-", "--python", sys.executable, "--quiet",
            "--no-header", "--no-annotate", "--color", "never", *index_options(indexes),
        ]  # fmt: skip
        done = _run(command, "\n".join(requirements) + "\n")
        pins = [line.strip() for line in done.stdout.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    else:
        command = [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-",
            "--disable-pip-version-check", *index_options(indexes), *requirements,
        ]  # fmt: skip
        report = json.loads(_run(command, None).stdout or "{}")
        pins = [f"{item['metadata']['name']}=={item['metadata']['version']}" for item in report.get("install", [])]
    return _sorted_pins(pins)


def installed_requirements(python: Path) -> tuple[str, ...]:
    """What the environment of ``python`` holds, as sorted ``name==version`` pins."""
    installer = find_installer()
    if installer.executable is not None:
        command = [installer.executable, "pip", "freeze", "--python", str(python), "--color", "never"]
    else:
        command = [str(python), "-m", "pip", "freeze", "--all", "--disable-pip-version-check"]
    return _sorted_pins(_run(command, None).stdout.splitlines())


def _run(command: list[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, command, done.stdout, done.stderr)
    return done


def _sorted_pins(lines: Sequence[str]) -> tuple[str, ...]:
    """``Name==1.0`` lines, normalized (``name==1.0``) and sorted; other lines are dropped."""
    pins = []
    for line in lines:
        name, sep, version = line.strip().partition("==")
        if sep and name and version:
            pins.append(f"{canonicalize_name(name)}=={version.split(';')[0].strip()}")
    return tuple(sorted(set(pins)))
