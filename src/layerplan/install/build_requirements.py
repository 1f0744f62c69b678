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
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from layerplan.install.pep517 import find_installer, index_options
from layerplan.target.model import ARCHES, Target

__all__ = ["TargetPin", "installed_requirements", "resolve_for_target", "resolve_requirements"]


@dataclass(frozen=True, slots=True)
class TargetPin:
    """A build requirement pinned for the target, with the hashes the index gave."""

    name: str
    version: str
    hashes: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


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


def resolve_for_target(requirements: Sequence[str], *, indexes: Sequence[str], target: Target) -> tuple[TargetPin, ...]:
    """Like ``resolve_requirements``, but for ``target``'s Python and platform (wheels
    only: they are installed in a container of the target's builder image, which has no
    network), each pin with its ``sha256:`` hashes. Raise ``subprocess.CalledProcessError``."""
    if not requirements:
        return ()
    installer = find_installer()
    python = target.python_version_text
    arch = ARCHES[target.arch][0]
    if installer.executable is not None:
        platform = (
            f"{arch}-manylinux_2_{min(max(target.libc.minor, 28), 40)}"
            if target.libc.family == "glibc" and target.libc.minor >= 28
            else f"{arch}-manylinux_2_17" if target.libc.family == "glibc" else f"{arch}-unknown-linux-musl"
        )
        command = [
            installer.executable, "pip", "compile", "-", "--python-version", python, "--python-platform", platform,
            "--only-binary", ":all:", "--generate-hashes", "--quiet", "--no-header", "--no-annotate", "--color", "never",
            *index_options(indexes),
        ]  # fmt: skip
        return _hashed_pins(_run(command, "\n".join(requirements) + "\n").stdout)
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-",
        "--disable-pip-version-check", "--only-binary", ":all:", "--python-version", python,
        "--implementation", "cp", "--target", "/nonexistent-layerplan-target",
        *(arg for tag in target.platform_tags() for arg in ("--platform", tag)), *index_options(indexes), *requirements,
    ]  # fmt: skip
    report = json.loads(_run(command, None).stdout or "{}")
    pins = []
    for item in report.get("install", []):
        hashes = item.get("download_info", {}).get("archive_info", {}).get("hashes", {})
        pins.append(TargetPin(
            canonicalize_name(item["metadata"]["name"]), item["metadata"]["version"],
            tuple(f"{alg}:{value}" for alg, value in sorted(hashes.items())),
        ))  # fmt: skip
    return tuple(sorted(pins, key=str))


def _hashed_pins(text: str) -> tuple[TargetPin, ...]:
    """``name==1.0 \\ --hash=sha256:...`` blocks of ``uv pip compile --generate-hashes``."""
    pins = []
    for block in text.replace("\\\n", " ").splitlines():
        words = block.split()
        if not words or words[0].startswith("#") or "==" not in words[0]:
            continue
        name, _, version = words[0].partition("==")
        hashes = tuple(word.removeprefix("--hash=") for word in words[1:] if word.startswith("--hash="))
        pins.append(TargetPin(canonicalize_name(name), version.split(";")[0].strip(), hashes))
    return tuple(sorted(pins, key=str))


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
