"""`layerplan build` end to end: real registry, real engine, real wheels from the index.

Only what needs the engine is here: the image runs (as non-root, on a read-only root),
`docker history`, `docker load` of the archives, skopeo's reading of the pushed image, and
that the synthetic base the engine-free tests build on gives the same layers as the real
base. Digests, incremental pushes, dependency bumps and the file formats are tested
without an engine in test_build_direct.py and test_build_registry.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from synthbase import SyntheticBase

from tests.direct_build.conftest import ExampleBuild
from tests.direct_build.helpers import EXPECTED_OUTPUT, build_json, copy_example, layerplan

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("layerplan-cache")


@pytest.fixture(scope="module")
def first_build(
    tmp_path_factory: pytest.TempPathFactory, registry: str, base_image: str, shared_cache: Path, example_build: ExampleBuild
) -> dict:
    """The example on the real base, pushed to the real registry; an empty cache, and the
    SOURCE_DATE_EPOCH of the engine-free tests' build (so the two can be compared)."""
    project = copy_example(tmp_path_factory.mktemp("first") / "example")
    # A tag of its own: a ref pushed by an earlier run would be this build's registry
    # cache (its layers "reused"), and this build must be the cold one.
    ref = f"{registry}/layerplan-test/example:first-{uuid.uuid4().hex[:12]}"
    report = build_json(project, base_image, f"docker://{ref}", cache=shared_cache, env=example_build.env)
    return {"project": project, "ref": ref, "report": report, "env": example_build.env}


def test_pushed_image_runs_and_skopeo_agrees(first_build: dict, docker_client, registry: str) -> None:
    report, ref = first_build["report"], first_build["ref"]
    inspect = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"], capture_output=True, text=True, check=True
    )
    assert json.loads(inspect.stdout)["Digest"] == report["digest"]
    docker_client.images.pull(ref)
    output = docker_client.containers.run(ref, remove=True, network_mode="none").decode()
    assert output.startswith(EXPECTED_OUTPUT)
    kinds = [layer["kind"] for layer in report["layers"]]
    assert kinds[0] == "base" and kinds[-1] == "app"
    assert all(layer["status"] == "built" for layer in report["layers"] if layer["kind"] != "base")


def test_runs_as_non_root_with_a_read_only_root(first_build: dict, docker_client) -> None:
    ref = first_build["ref"]
    docker_client.images.pull(ref)
    uid = docker_client.containers.run(ref, entrypoint=["id", "-u"], remove=True, network_mode="none").decode().strip()
    assert uid != "0"
    output = docker_client.containers.run(ref, remove=True, network_mode="none", read_only=True).decode()
    assert output.startswith(EXPECTED_OUTPUT)


# The user can live in the image: HOME is theirs, the app is not. Many CLIs write
# ~/.config or ~/.cache on first use (some on --help).
_HOME_PROBE = (
    'echo "$HOME"; mkdir -p "$HOME/.config/app" && echo home-writable; '
    "touch /app/probe 2>/dev/null && echo app-writable || echo app-read-only"
)


def test_the_user_owns_its_home_and_not_the_app(first_build: dict, docker_client) -> None:
    ref = first_build["ref"]
    docker_client.images.pull(ref)
    lines = docker_client.containers.run(
        ref, ["-c", _HOME_PROBE], entrypoint=["sh"], remove=True, network_mode="none"
    ).decode().split()
    assert lines == ["/home/app", "home-writable", "app-read-only"]
    # --read-only: a tmpfs for HOME (docs/build.md says how), the rest stays read-only
    lines = docker_client.containers.run(
        ref, ["-c", _HOME_PROBE], entrypoint=["sh"], remove=True, network_mode="none", read_only=True,
        tmpfs={"/home/app": "uid=10001,gid=10001,mode=0700"},
    ).decode().split()
    assert lines == ["/home/app", "home-writable", "app-read-only"]


def test_docker_history_explains_every_layer(first_build: dict, docker_client) -> None:
    ref = first_build["ref"]
    docker_client.images.pull(ref)
    history = [h["CreatedBy"] for h in docker_client.api.history(ref)]
    ours = [line for line in history if line.startswith("layerplan:")]
    names = [layer["name"] for layer in first_build["report"]["layers"] if layer["kind"] != "base"]
    assert len(ours) == len(names)
    assert any("numpy==2.4.6" in line for line in ours)
    assert any(line.startswith("layerplan: app: layerplan-example") for line in ours)


def test_archives_load_into_docker_and_skopeo(tmp_path: Path, first_build: dict, base_image: str, shared_cache: Path, docker_client) -> None:
    docker_tar, oci_tar = tmp_path / "image-docker.tar", tmp_path / "image-oci.tar"
    report = build_json(
        first_build["project"], base_image, f"docker-archive:{docker_tar}", f"oci-archive:{oci_tar}",
        cache=shared_cache, extra=("--tag", "layerplan-test/archive:docker"), env=first_build["env"],
    )
    loaded = subprocess.run(["docker", "load", "-i", str(docker_tar)], capture_output=True, text=True, check=True)
    assert "layerplan-test/archive:docker" in loaded.stdout
    inspected = docker_client.api.inspect_image("layerplan-test/archive:docker")
    assert inspected["Id"] == report["config_digest"]  # the engine took the config as written
    assert inspected["Config"]["WorkingDir"] == "/app"
    subprocess.run(
        ["skopeo", "copy", "--quiet", f"oci-archive:{oci_tar}", "docker-daemon:layerplan-test/archive:oci"], check=True
    )
    for tag in ("docker", "oci"):
        output = docker_client.containers.run(f"layerplan-test/archive:{tag}", remove=True, network_mode="none").decode()
        assert output.startswith(EXPECTED_OUTPUT)


def test_load_into_the_engine(first_build: dict, base_image: str, shared_cache: Path, docker_client) -> None:
    build_json(first_build["project"], base_image, "docker-daemon:layerplan-test/loaded:1", cache=shared_cache, env=first_build["env"])
    output = docker_client.containers.run("layerplan-test/loaded:1", remove=True, network_mode="none").decode()
    assert output.startswith(EXPECTED_OUTPUT)


def test_the_synthetic_base_gives_the_same_target_and_layers(
    first_build: dict, base_image: str, synthetic_base: SyntheticBase, example_build: ExampleBuild, shared_cache: Path
) -> None:
    """What the engine-free tests build on stands in for the real base: the same target read
    from its files, and byte-identical layers on top of it (two cold builds, two caches)."""
    plans = []
    for base in (base_image, synthetic_base.specs["oci"]):
        result = layerplan("plan", str(first_build["project"]), "--base", base, "--cache-dir", str(shared_cache), "--json")
        assert result.returncode == 0, result.stderr
        plans.append(json.loads(result.stdout))
    real_target, synthetic_target = ({k: v for k, v in plan["target"].items() if k != "from"} for plan in plans)
    assert synthetic_target == real_target  # ("from" names each base: where the target came from)
    assert real_target["python_full_version"] == "3.11.2"
    real, synthetic = first_build["report"], example_build.report
    assert synthetic["target"] == real["target"]
    for report in (real, synthetic):
        assert {layer["status"] for layer in report["layers"] if layer["status"] != "base"} == {"built"}
    assert [(layer["name"], layer["digest"]) for layer in synthetic["layers"] if layer["status"] != "base"] == [
        (layer["name"], layer["digest"]) for layer in real["layers"] if layer["status"] != "base"
    ]


def test_a_setup_py_project_runs_its_script(tmp_path: Path, base_image: str, docker_client) -> None:
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "setup-py-only"
    project = Path(shutil.copytree(fixture, tmp_path / "app"))
    build_json(project, base_image, "docker-daemon:layerplan-test/setup-py-only:1", cache=tmp_path / "cache")
    output = docker_client.containers.run("layerplan-test/setup-py-only:1", remove=True, network_mode="none").decode()
    assert output == "greet-tool says hello on py3\n"
