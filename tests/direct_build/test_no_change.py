"""Issue 10, the no-change path: a rebuild with nothing changed runs no build backend (the
app's wheel is found by the fingerprint of its inputs), gives the image a cold build gives,
and sends nothing to a registry that already holds it.

"No backend ran" is checked from outside layerplan's own report: the build runs under an
audit hook (``sys.addaudithook``) that logs every ``subprocess.Popen``; a rebuild may start
``git`` (the revision annotation) and nothing else. Real backends from PyPI, real builds,
the in-memory registry for the push.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from memregistry import MemRegistry
from synthbase import SyntheticBase

from tests.direct_build.helpers import layer_by_name
from tests.direct_build.test_app_keys_per_backend import BACKENDS, make_project
from tests.direct_build.test_build_registry import seed_base

AUDITED = """\
import os, runpy, sys
log = os.environ["LAYERPLAN_TEST_POPEN_LOG"]
def hook(event, args):
    if event == "subprocess.Popen":
        with open(log, "a", encoding="utf-8") as out:
            out.write(repr([str(a) for a in args[1]]) + "\\n")
sys.addaudithook(hook)
sys.argv = ["layerplan", *sys.argv[1:]]
runpy.run_module("layerplan", run_name="__main__", alter_sys=True)
"""


def audited_build(project: Path, base: str, output: str, cache: Path, log: Path) -> tuple[dict[str, Any], list[list[str]]]:
    """``layerplan build --json`` and the command line of every process it started."""
    log.unlink(missing_ok=True)
    args = ["build", str(project), "--base", base, "--output", output, "--cache-dir", str(cache), "--json"]
    done = subprocess.run(
        [sys.executable, "-c", AUDITED, *args], capture_output=True, text=True,
        env={**os.environ, "LAYERPLAN_TEST_POPEN_LOG": str(log)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    started = [eval(line) for line in log.read_text().splitlines()] if log.exists() else []  # noqa: S307 - our own repr
    return json.loads(done.stdout), started


def not_git(started: list[list[str]]) -> list[list[str]]:
    return [argv for argv in started if Path(argv[0]).name != "git"]


@pytest.mark.parametrize("name", list(BACKENDS))
def test_a_no_change_rebuild_runs_no_backend_and_gives_the_cold_image(
    name: str, tmp_path: Path, synthetic_base: SyntheticBase
) -> None:
    project = make_project(tmp_path / "app", BACKENDS[name])
    base = synthetic_base.specs["oci"]
    log = tmp_path / "popen.log"

    def build(cache: str) -> tuple[dict[str, Any], list[list[str]]]:
        return audited_build(project, base, f"oci:{tmp_path / cache / 'image'}", tmp_path / cache, log)

    first, started = build("warm")
    assert first["app_wheel"]["status"] == "built" and first["app_wheel"]["fingerprint"]
    assert any("_hook_driver" in " ".join(argv) for argv in started), "the first build runs the backend"

    again, started = build("warm")
    assert again["app_wheel"] == {"status": "cached", "fingerprint": first["app_wheel"]["fingerprint"]}
    assert not_git(started) == [], f"{name}: a no-change rebuild started {not_git(started)}"
    assert again["digest"] == first["digest"]
    assert layer_by_name(again)["app"]["status"] == "cached"
    assert [o["status"] for o in first["outputs"]] == ["written"] and [o["status"] for o in again["outputs"]] == ["unchanged"]

    for path in project.rglob("*"):  # what a fresh checkout does: new mtimes, same bytes
        os.utime(path)
    touched, started = build("warm")
    assert touched["app_wheel"]["status"] == "cached" and not_git(started) == []
    assert touched["digest"] == first["digest"]

    package = project / BACKENDS[name].package / "__init__.py"
    package.write_text(package.read_text().replace('VALUE = "v1"', 'VALUE = "v2 - security fix"'))
    changed, _ = build("warm")
    assert changed["app_wheel"]["status"] == "built" and changed["digest"] != first["digest"]
    assert [o["status"] for o in changed["outputs"]] == ["written"]
    cold, _ = build("cold")
    assert cold["digest"] == changed["digest"], f"{name}: warm {changed['digest']}, cold {cold['digest']}"
    after, started = build("warm")
    assert after["app_wheel"]["status"] == "cached" and not_git(started) == []
    assert after["digest"] == changed["digest"]


def test_a_registry_that_holds_the_image_gets_nothing(
    tmp_path: Path, memregistry: MemRegistry, synthetic_base: SyntheticBase
) -> None:
    """No upload, no manifest PUT: one read of the tag and one of the SBOMs' listing."""
    project = make_project(tmp_path / "app", BACKENDS["hatchling"])
    base = seed_base(memregistry, synthetic_base)
    output = f"docker://{memregistry.address}/nochange/app:1"
    log, cache = tmp_path / "popen.log", tmp_path / "cache"
    first, _ = audited_build(project, base, output, cache, log)
    (pushed,) = first["outputs"]
    assert pushed["status"] == "pushed" and pushed["bytes_uploaded"] > 0

    memregistry.reset_log()
    again, started = audited_build(project, base, output, cache, log)
    (output_result,) = again["outputs"]
    assert again["digest"] == first["digest"] and not_git(started) == []
    assert output_result["status"] == "unchanged"
    assert output_result["bytes_uploaded"] == 0 and output_result["blobs"] == []
    assert output_result["sboms"] == pushed["sboms"]
    assert memregistry.uploaded_bytes() == {}
    writes = [r for r in memregistry.calls() if r.method in ("PUT", "POST", "PATCH", "DELETE")]
    assert writes == [], writes
    assert len(memregistry.calls("GET", r"/nochange/app/manifests/1$")) == 1
    assert memregistry.calls("HEAD") == []

    # A code change: the blobs of the manifest the tag names are there (a registry keeps
    # the blobs of the manifests it holds), so only the new ones (app layer, config) are
    # looked up; the image is the one a cold cache pushes.
    module = project / BACKENDS["hatchling"].package / "__init__.py"
    module.write_text(module.read_text().replace('VALUE = "v1"', 'VALUE = "v2"'))
    memregistry.reset_log()
    changed, _ = audited_build(project, base, output, cache, log)
    (pushed_change,) = changed["outputs"]
    statuses = {b["digest"]: b["status"] for b in pushed_change["blobs"]}
    new_blobs = {d for d, status in statuses.items() if status == "pushed"}
    looked_up = {r.path.rsplit("/", 1)[-1] for r in memregistry.calls("HEAD", r"/nochange/app/blobs/")}
    assert len(new_blobs) == 2 and looked_up & set(statuses) == new_blobs, (looked_up, statuses)
    assert all(status in ("pushed", "present") for status in statuses.values())
    cold, _ = audited_build(project, base, f"docker://{memregistry.address}/nochange/cold:1", tmp_path / "cold", log)
    assert cold["digest"] == changed["digest"]
    module.write_text(module.read_text().replace('VALUE = "v2"', 'VALUE = "v1"'))
    back, _ = audited_build(project, base, output, cache, log)
    assert back["digest"] == first["digest"]

    # The tag moved (someone pushed another image to it): the image goes up again.
    memregistry.seed("nochange/app", "1", synthetic_base.image.manifest_bytes, synthetic_base.image.blobs())
    moved, _ = audited_build(project, base, output, cache, log)
    (repushed,) = moved["outputs"]
    assert repushed["status"] == "pushed" and moved["digest"] == first["digest"]
    assert memregistry.manifest("nochange/app", "1")[0] != synthetic_base.image.manifest_bytes


def test_an_oci_layout_missing_a_blob_is_written_again(tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    project = make_project(tmp_path / "app", BACKENDS["hatchling"])
    base, log, layout = synthetic_base.specs["oci"], tmp_path / "popen.log", tmp_path / "out" / "image"
    first, _ = audited_build(project, base, f"oci:{layout}", tmp_path / "cache", log)
    app = layer_by_name(first)["app"]["digest"].split(":")[1]
    (layout / "blobs" / "sha256" / app).unlink()
    again, _ = audited_build(project, base, f"oci:{layout}", tmp_path / "cache", log)
    assert [o["status"] for o in again["outputs"]] == ["written"] and again["digest"] == first["digest"]
    assert (layout / "blobs" / "sha256" / app).is_file()
    sbom = Path(f"{layout}.sbom.spdx.json")
    assert sbom.is_file()
    sbom.write_text("{}")
    third, _ = audited_build(project, base, f"oci:{layout}", tmp_path / "cache", log)
    assert [o["status"] for o in third["outputs"]] == ["written"] and sbom.read_text() != "{}"
    fourth, _ = audited_build(project, base, f"oci:{layout}", tmp_path / "cache", log)
    assert [o["status"] for o in fourth["outputs"]] == ["unchanged"]


def test_the_docker_engine_is_not_loaded_again(tmp_path: Path, synthetic_base: SyntheticBase, docker_client: Any) -> None:
    """The engine's image of that name is this image already: no load. Once the name is
    gone (or names another image), the image is loaded again."""
    project = make_project(tmp_path / "app", BACKENDS["hatchling"])
    base, log = synthetic_base.specs["oci"], tmp_path / "popen.log"
    name = f"layerplan-test/nochange:{os.getpid()}-{tmp_path.name[-12:].lower().replace('_', '-')}"
    try:
        first, _ = audited_build(project, base, f"docker-daemon:{name}", tmp_path / "cache", log)
        assert [o["status"] for o in first["outputs"]] == ["loaded"]
        again, started = audited_build(project, base, f"docker-daemon:{name}", tmp_path / "cache", log)
        assert [o["status"] for o in again["outputs"]] == ["unchanged"] and not_git(started) == []
        docker_client.images.remove(name)
        third, _ = audited_build(project, base, f"docker-daemon:{name}", tmp_path / "cache", log)
        assert [o["status"] for o in third["outputs"]] == ["loaded"]
        assert docker_client.images.get(name).id in (third["config_digest"], third["digest"])
    finally:
        try:
            docker_client.images.remove(name, force=True)
        except Exception:  # noqa: BLE001 - already gone
            pass


def test_a_package_directory_named_build_keys_the_local_layer(tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    """A workspace member's ``greeting/build/`` subpackage is in its wheel: a change there
    must rebuild the local layer (it was skipped like a top-level build/ output, and a warm
    cache shipped the old code)."""
    from tests.direct_build.helpers import copy_example

    project = copy_example(tmp_path / "app")
    subpackage = project / "packages" / "greeting" / "src" / "greeting" / "build"
    subpackage.mkdir()
    (subpackage / "__init__.py").write_text('X = "v1"\n')
    base, log = synthetic_base.specs["oci"], tmp_path / "popen.log"
    first, _ = audited_build(project, base, f"oci:{tmp_path / 'out'}", tmp_path / "cache", log)
    (subpackage / "__init__.py").write_text('X = "v2 - security fix"\n')
    warm, _ = audited_build(project, base, f"oci:{tmp_path / 'out'}", tmp_path / "cache", log)
    assert layer_by_name(warm)["local"]["status"] == "built"
    assert layer_by_name(warm)["local"]["digest"] != layer_by_name(first)["local"]["digest"]
