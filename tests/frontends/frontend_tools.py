"""Real build front ends for the tests: layerplan's own wheel, hatch, hatchling, setuptools.

Everything is installed from PyPI with uv into throwaway virtual environments, once per
test session; layerplan itself comes from a wheel of this checkout (built once), found
through ``UV_FIND_LINKS``/``PIP_FIND_LINKS`` the way a user's build would find it on an
index. The machine's pip configuration (extra local indexes) is kept out.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine import unavailable

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-project"
SETUPTOOLS_APP = ROOT / "tests" / "fixtures" / "setuptools-app"
PYPI = "https://pypi.org/simple"
EXAMPLE_LINE = "layerplan-example ok: numpy=2.4.6 mean=2.5 pydantic=2.14.2 validated=alice"
SETUPTOOLS_LINE = "setuptools-app ok: idna=3.20 six=1.17.0 encoded=xn--bcher-kva.example"
SETUP_PY = "from setuptools import setup; setup()"

_LEAKY = (
    "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_FIND_LINKS", "UV_NO_INDEX", "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONSTRAINT", "VIRTUAL_ENV", "PYTHONPATH", "HATCH_ENV",
)


def uv_binary() -> str:
    """The uv next to the test interpreter (scripts/dev-env.sh installs it), else on PATH."""
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if found is None:
        unavailable("uv is not installed (scripts/dev-env.sh installs it into .venv)")
    return found


def tool_env(wheels: Path, home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every front end runs in: PyPI plus ``wheels`` only, hatch's state
    under ``home``, wide tables."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env.update(
        {
            "UV_DEFAULT_INDEX": PYPI,
            "UV_FIND_LINKS": str(wheels),
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_INDEX_URL": PYPI,
            "PIP_FIND_LINKS": str(wheels),
            "HATCH_DATA_DIR": str(home / "hatch-data"),
            "HATCH_CACHE_DIR": str(home / "hatch-cache"),
            "HATCH_CONFIG": str(home / "hatch-config.toml"),
            "COLUMNS": "200",
        }
    )
    env.update(extra or {})
    return env


def run(args: Sequence[str | Path], *, env: Mapping[str, str], cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output (never raises on a non-zero exit)."""
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=dict(env), cwd=cwd, timeout=timeout,
        stdin=subprocess.DEVNULL, check=False,
    )


def must(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """``result``, asserting it succeeded (showing its output when not)."""
    assert result.returncode == 0, f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    return result


def build_layerplan_wheel(into: Path, env: Mapping[str, str]) -> Path:
    """This checkout's wheel (layerplan + hatch_layers), built with uv."""
    result = run([uv_binary(), "build", "--wheel", "--quiet", "-o", into, ROOT], env=env)
    if result.returncode != 0:
        unavailable(f"cannot build layerplan's wheel with uv (is PyPI reachable?): {result.stderr.strip()[-400:]}")
    (wheel,) = into.glob("layerplan-*.whl")
    return wheel


def make_venv(path: Path, requirements: Sequence[str], env: Mapping[str, str]) -> Path:
    """A virtual environment at ``path`` with ``requirements`` installed; its python."""
    uv = uv_binary()
    created = run([uv, "venv", "--quiet", "--python", sys.executable, path], env=env)
    if created.returncode != 0:
        unavailable(f"uv venv failed: {created.stderr.strip()[-400:]}")
    python = path / "bin" / "python"
    installed = run([uv, "pip", "install", "--quiet", "--python", python, *requirements], env=env)
    if installed.returncode != 0:
        unavailable(f"cannot install {' '.join(requirements)} from PyPI: {installed.stderr.strip()[-400:]}")
    return python


def copy_project(source: Path, destination: Path) -> Path:
    """A clean copy of a project (no venv, build output or caches)."""
    shutil.copytree(
        source, destination, ignore=shutil.ignore_patterns(".venv", "__pycache__", "dist", "build", "*.egg-info")
    )
    return destination


def set_build_requires(project: Path, requires: Sequence[str]) -> None:
    """Replace ``[build-system] requires`` in the project's pyproject.toml."""
    pyproject = project / "pyproject.toml"
    lines = pyproject.read_text(encoding="utf-8").splitlines()
    (index,) = [i for i, line in enumerate(lines) if line.startswith("requires = [")]
    lines[index] = "requires = [" + ", ".join(json.dumps(r) for r in requires) + "]"
    pyproject.write_text("\n".join(lines) + "\n", encoding="utf-8")


def append_table(project: Path, text: str) -> None:
    """Append TOML ``text`` (a whole table) to the project's pyproject.toml."""
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8") + "\n" + text.strip() + "\n", encoding="utf-8")


def archive_digest(archive: Path) -> str:
    """The manifest digest an OCI archive's index.json names (the image digest)."""
    with tarfile.open(archive) as tar:
        member = tar.extractfile("index.json")
        assert member is not None
        index = json.load(member)
    digests = [m["digest"] for m in index["manifests"]]
    assert len(digests) == 1, index
    return str(digests[0])


def archive_image(archive: Path) -> tuple[dict[str, Any], list[list[str]]]:
    """The image config of a single-image OCI archive, and each layer's file names."""
    with tarfile.open(archive) as tar:

        def blob(digest: str) -> bytes:
            member = tar.extractfile("blobs/" + digest.replace(":", "/"))
            assert member is not None
            return member.read()

        manifest = json.loads(blob(archive_digest(archive)))
        config = json.loads(blob(manifest["config"]["digest"]))
        layers = []
        for layer in manifest["layers"]:
            with tarfile.open(fileobj=io.BytesIO(blob(layer["digest"]))) as layer_tar:
                layers.append(layer_tar.getnames())
    return config, layers


def run_archive(archive: Path, tag: str, docker_client: object, env: Mapping[str, str], *args: str) -> str:
    """Copy an OCI archive into the engine with skopeo, run it (no network), remove it;
    the container's output."""
    if shutil.which("skopeo") is None:
        unavailable("skopeo is not installed (scripts/test-engine.sh start installs it)")
    must(run(["skopeo", "copy", "--quiet", f"oci-archive:{archive}", f"docker-daemon:{tag}"], env=env))
    return run_image(tag, docker_client, *args)


def run_image(tag: str, docker_client: object, *args: str) -> str:
    """Run ``tag`` with no network, remove the image; the container's output."""
    try:
        output = docker_client.containers.run(tag, list(args) or None, network_mode="none", remove=True)  # type: ignore[attr-defined]
        return bytes(output).decode()
    finally:
        # noprune: keep the classic builder's intermediate images, its step cache
        docker_client.images.remove(tag, force=True, noprune=True)  # type: ignore[attr-defined]
