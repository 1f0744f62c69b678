"""Transport names on the command line (issue 12): ``docker://`` is a registry, as in
skopeo, for ``--base`` and ``--output``; an old spelling still works and says so once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from memregistry import MemRegistry, memregistry  # noqa: F401
from synthbase import SyntheticBase, synthetic_base  # noqa: F401

from tests.direct_build.test_build_direct import seed_base

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-project"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"COLUMNS", "NO_COLOR", "FORCE_COLOR", "TERM"}}
    return subprocess.run([sys.executable, "-m", "layerplan", *args], capture_output=True, text=True, env=env, timeout=600)


def test_plan_reads_the_target_from_a_docker_slash_slash_base_in_the_registry(
    memregistry: MemRegistry, synthetic_base: SyntheticBase, tmp_path: Path  # noqa: F811
) -> None:
    base = f"docker://{seed_base(memregistry, synthetic_base)}"
    result = run("plan", str(EXAMPLE), "--base", base, "--cache-dir", str(tmp_path / "cache"), "--json")
    assert result.returncode == 0, result.stderr
    target = json.loads(result.stdout)["target"]
    # only the base's files say 3.11.2 and glibc 2.36: the registry image was read
    assert target["python_full_version"] == "3.11.2"
    assert target["from"]["libc"] == f"base image {base}"
    assert "old spelling" not in result.stderr


def test_a_docker_slash_slash_base_not_in_the_registry_names_docker_daemon(
    memregistry: MemRegistry, tmp_path: Path  # noqa: F811
) -> None:
    result = run("plan", str(EXAMPLE), "--base", f"docker://{memregistry.address}/my-app:dev", "--cache-dir", str(tmp_path / "c"))
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert "docker:// names a registry (as in skopeo); for an image in the local Docker engine use docker-daemon:NAME" in line


def test_build_pushes_to_docker_slash_slash_and_takes_the_old_spelling_with_one_line(
    memregistry: MemRegistry, synthetic_base: SyntheticBase, tmp_path: Path  # noqa: F811
) -> None:
    base = f"docker://{seed_base(memregistry, synthetic_base)}"
    common = ("build", str(EXAMPLE), "--base", base, "--cache-dir", str(tmp_path / "cache"))
    pushed = run(*common, "-o", f"docker://{memregistry.address}/team/app:1", "--json")
    assert pushed.returncode == 0, pushed.stderr
    report = json.loads(pushed.stdout)
    (output,) = report["outputs"]
    assert (output["spec"], output["kind"]) == (f"docker://{memregistry.address}/team/app:1", "registry")
    manifest, _ = memregistry.manifest("team/app", "1")
    assert json.loads(manifest)["config"]["digest"] == report["config_digest"]
    assert "old spelling" not in pushed.stderr

    old = run(*common, "-o", f"registry:{memregistry.address}/team/app:2", "-q")  # -q still says it
    assert old.returncode == 0, old.stderr
    assert old.stdout.strip() == report["digest"]
    memregistry.manifest("team/app", "2")
    deprecations = [line for line in old.stderr.splitlines() if "old spelling" in line]
    assert deprecations == [
        f"warning: 'registry:{memregistry.address}/team/app:2' uses the old spelling 'registry:'; "
        f"write 'docker://{memregistry.address}/team/app:2' (as skopeo spells it)"
    ]
