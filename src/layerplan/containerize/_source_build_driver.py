"""Runs inside the builder container (``python /lpb/driver.py``): install the build
requirements, ask the backend for more, build the wheel. Nothing of layerplan is there:
only the standard library and the copies of ``installer``, ``pyproject_hooks`` and
``packaging`` the host put in ``/lpb/lib`` (so the builder image needs no pip and no
network). Exit status 3 with ``out/need.json``: the backend asked for requirements the
host did not provide (it resolves them and runs this again).

Layout: ``/lpb/src`` the unpacked sdist, ``/lpb/wheels`` the build requirements' wheels,
``/lpb/request.json`` the backend, ``/lpb/out`` what this writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path

ROOT = Path("/lpb")
sys.path.insert(0, str(ROOT / "lib"))

from installer import install  # noqa: E402  (found in /lpb/lib only after the line above)
from installer.destinations import SchemeDictionaryDestination  # noqa: E402
from installer.sources import WheelFile  # noqa: E402
from packaging.requirements import Requirement  # noqa: E402
from packaging.utils import canonicalize_name  # noqa: E402
from pyproject_hooks import BuildBackendHookCaller  # noqa: E402

ENV = ROOT / "env"
SITE = ENV / "site"
BIN = ENV / "bin"
OUT = ROOT / "out"
NEEDS_MORE = 3


def install_wheels() -> None:
    scheme = {"purelib": str(SITE), "platlib": str(SITE), "headers": str(ENV / "include"), "scripts": str(BIN), "data": str(ENV)}
    for wheel in sorted((ROOT / "wheels").glob("*.whl")):
        destination = SchemeDictionaryDestination(scheme, interpreter=sys.executable, script_kind="posix")
        with WheelFile.open(wheel) as source:
            install(source, destination, {"INSTALLER": b"layerplan"})


def installed() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions(path=[str(SITE)])}


def runner(cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None) -> None:
    env = {**os.environ, **(extra_environ or {})}
    env["PYTHONPATH"] = str(SITE)
    env["PATH"] = f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    subprocess.run(cmd, cwd=cwd, env=env, check=True)


def main() -> int:
    request = json.loads((ROOT / "request.json").read_text())
    install_wheels()
    hooks = BuildBackendHookCaller(str(ROOT / "src"), request["backend"], backend_path=request.get("backend_path"), runner=runner)
    have = installed()
    missing = [r for r in hooks.get_requires_for_build_wheel() if canonicalize_name(Requirement(r).name) not in have]
    if missing:
        (OUT / "need.json").write_text(json.dumps(sorted(missing)))
        return NEEDS_MORE
    dist = OUT / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    wheel = hooks.build_wheel(str(dist))
    pins = sorted(f"{name}=={version}" for name, version in installed().items())
    (OUT / "result.json").write_text(json.dumps({"wheel": wheel, "installed": pins}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
