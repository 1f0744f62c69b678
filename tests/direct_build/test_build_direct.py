"""`layerplan build` without an engine: the CLI on a synthetic base, pushing to an in-memory
registry and writing files that are read back here with the standard library.

Nothing here runs a container; tests/direct_build/test_build_engine.py runs the image.
The synthetic base gives the same target and the same layer bytes as the real
python:3.11-bookworm base (test_build_engine.py checks that), so what is proved here
about layers, digests and uploads holds for the real image.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from engine import unavailable
from memregistry import MemRegistry
from ocifiles import (
    check_image,
    check_reproducible_layer,
    digest_of,
    read_docker_archive,
    read_oci_archive,
    read_oci_layout,
)
from synthbase import SyntheticBase

from tests.direct_build.conftest import EPOCH, ExampleBuild
from tests.direct_build.helpers import build_json, copy_example, image_uploads, layer_by_name, layerplan

BASE_REPOSITORY, BASE_TAG = "library/python", "3.11-bookworm"


def seed_base(registry: MemRegistry, base: SyntheticBase) -> str:
    """Put the synthetic base into ``registry``; its reference."""
    registry.seed(BASE_REPOSITORY, BASE_TAG, base.image.manifest_bytes, base.image.blobs())
    return f"{registry.address}/{BASE_REPOSITORY}:{BASE_TAG}"


def ours(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The layers the build made (not the base's)."""
    return [layer for layer in report["layers"] if layer["status"] != "base"]


def test_two_clones_give_the_same_digest(example_build: ExampleBuild, tmp_path: Path) -> None:
    """Another checkout path, other file times, another (empty) cache: the same image, byte for byte."""
    project = copy_example(tmp_path / "somewhere" / "else" / "example")
    stamp = time.time() - 86400 * 30
    for path in [project, *project.rglob("*")]:
        os.utime(path, (stamp, stamp))
    cli = "src/layerplan_example/cli.py"
    assert (project / cli).stat().st_mtime != (example_build.project / cli).stat().st_mtime

    report = build_json(project, example_build.base, f"oci:{tmp_path / 'oci'}", cache=tmp_path / "cache", env=example_build.env)

    assert {layer["status"] for layer in ours(report)} == {"built"}  # rebuilt, not taken from a cache
    assert report["digest"] == example_build.report["digest"]
    first, _ = read_oci_layout(example_build.output)
    second, _ = read_oci_layout(tmp_path / "oci")
    assert second.manifest_bytes == first.manifest_bytes
    assert second.config_bytes == first.config_bytes
    assert second.layers == first.layers


def test_code_change_pushes_only_the_app_layer(
    example_build: ExampleBuild, memregistry: MemRegistry, synthetic_base: SyntheticBase, tmp_path: Path
) -> None:
    base_ref = seed_base(memregistry, synthetic_base)
    (base_layer,) = synthetic_base.image.layers
    project = copy_example(tmp_path / "example")
    target = f"docker://{memregistry.address}/team/example:1"

    first = build_json(project, base_ref, target, cache=example_build.cache, env=example_build.env)
    # first push: the base layer is mounted from its repository, every other blob uploaded once
    config_one, _ = memregistry.manifest("team/example", "1")
    expected = {layer["digest"]: layer["size"] for layer in ours(first)}
    expected[first["config_digest"]] = json.loads(config_one)["config"]["size"]
    assert image_uploads(memregistry, "team/example", first) == expected  # and the SBOMs
    assert [r.query for r in memregistry.calls("POST", "/team/example/blobs/uploads/") if "mount" in r.query] == [
        {"mount": digest_of(base_layer), "from": BASE_REPOSITORY}
    ]
    assert memregistry.has_blob("team/example", digest_of(base_layer))
    # the base's files were read once, by the cached build: its layer is never downloaded
    assert memregistry.calls("GET", digest_of(base_layer)) == []

    memregistry.reset_log()
    cli = project / "src" / "layerplan_example" / "cli.py"
    # An edit no other test makes: they share the session's cache, where another test's
    # "ok," build would be found, and the app layer would be `cached`, not `built`
    cli.write_text(cli.read_text().replace("ok:", "ok (pushes only the app layer):"))
    second = build_json(project, base_ref, target, cache=example_build.cache, env=example_build.env)

    layers = layer_by_name(second)
    assert [name for name, layer in layers.items() if layer["status"] == "built"] == ["app"]
    manifest_bytes, _ = memregistry.manifest("team/example", "1")
    manifest = json.loads(manifest_bytes)
    assert digest_of(manifest_bytes) == second["digest"]
    # only the app layer and the config went up (and the new image's SBOMs), and the manifest last
    assert image_uploads(memregistry, "team/example", second) == {
        layers["app"]["digest"]: layers["app"]["size"],
        second["config_digest"]: manifest["config"]["size"],
    }
    (push,) = second["outputs"]
    assert push["bytes_uploaded"] == sum(image_uploads(memregistry, "team/example", second).values())
    assert [b["status"] for b in push["blobs"]].count("pushed") == 2
    # the image's manifest after its blobs; then its SBOMs, provenance and base platform
    # record, and the referrers tag listing them
    puts = [r.path for r in memregistry.calls("PUT", "/manifests/")]
    assert puts[0] == "/v2/team/example/manifests/1" and len(puts) == 6
    assert puts[-1] == f"/v2/team/example/manifests/sha256-{second['digest'].split(':')[1]}"
    image_put = next(
        i for i, r in enumerate(memregistry.requests) if r.method == "PUT" and r.path == "/v2/team/example/manifests/1"
    )  # (the HEAD of the tag, which finds another image there, comes first)
    image_blobs = {layers["app"]["digest"], second["config_digest"]}
    assert all(i < image_put for i, r in enumerate(memregistry.requests) if r.query.get("digest") in image_blobs)
    # the registry's manifest differs from the first one only in the app layer
    before = [layer["digest"] for layer in json.loads(config_one)["layers"]]
    after = [layer["digest"] for layer in manifest["layers"]]
    assert [a for a, b in zip(after, before, strict=True) if a != b] == [layers["app"]["digest"]]


def test_dependency_bump_changes_only_its_layer(example_build: ExampleBuild, tmp_path: Path) -> None:
    project = copy_example(tmp_path / "example")
    subprocess.run(
        [sys.executable, "-m", "uv", "lock", "--project", str(project), "--upgrade-package", "humanize==4.15.0",
         "--default-index", "https://pypi.org/simple", "--quiet"],
        check=True, env={**os.environ, "UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never"},
    )
    assert 'name = "humanize"\nversion = "4.15.0"' in (project / "uv.lock").read_text()

    after = layer_by_name(build_json(project, example_build.base, f"oci:{tmp_path / 'oci'}", cache=example_build.cache, env=example_build.env))

    before = layer_by_name(example_build.report)
    assert list(after) == list(before)
    changed = [name for name in after if after[name]["digest"] != before[name]["digest"]]
    (humanize_layer,) = [name for name, layer in after.items() if "humanize==4.15.0" in layer["created_by"]]
    assert changed == [humanize_layer]
    assert [name for name, layer in after.items() if layer["status"] == "built"] == [humanize_layer]


def test_every_file_output_holds_the_same_reproducible_image(
    example_build: ExampleBuild, synthetic_base: SyntheticBase, tmp_path: Path
) -> None:
    """oci, oci-archive and docker-archive from one build, read back without layerplan.

    The layers come from the cache (built by ``example_build`` with ``SOURCE_DATE_EPOCH``);
    test_two_clones_give_the_same_digest shows a fresh build gives the same bytes.
    """
    report = build_json(
        example_build.project, example_build.base,
        f"oci:{tmp_path / 'layout'}", f"oci-archive:{tmp_path / 'oci.tar'}", f"docker-archive:{tmp_path / 'docker.tar'}",
        cache=example_build.cache, extra=("--tag", "example/app:1"), env=example_build.env,
    )
    layout, index = read_oci_layout(tmp_path / "layout")
    archive, archive_index = read_oci_archive(tmp_path / "oci.tar")
    docker = read_docker_archive(tmp_path / "docker.tar")

    # one image in all three, the one the report names
    check_image(layout)
    assert (layout.digest, layout.config_digest) == (report["digest"], report["config_digest"])
    assert (archive.manifest_bytes, archive.config_bytes, archive.layers) == (layout.manifest_bytes, layout.config_bytes, layout.layers)
    assert archive_index == index
    assert docker.config_bytes == layout.config_bytes
    assert docker.layer_tars == [gzip.decompress(blob) for blob in layout.layers]
    assert docker.entry["RepoTags"] == ["example/app:1"]
    assert read_oci_archive(tmp_path / "docker.tar")[0].manifest_bytes == layout.manifest_bytes  # also an OCI archive
    assert [digest_of(blob) for blob in layout.layers] == [layer["digest"] for layer in report["layers"]]
    assert [len(blob) for blob in layout.layers] == [layer["size"] for layer in report["layers"]]

    # the base layer is carried over as it is; every new layer is a reproducible tar
    assert layout.layers[0] == synthetic_base.image.layers[0]
    members = {layer["name"]: check_reproducible_layer(blob, epoch=EPOCH) for layer, blob in zip(report["layers"][1:], layout.layers[1:], strict=True)}
    created = datetime.fromtimestamp(EPOCH, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = layout.config
    assert config["created"] == created
    assert [h.get("created") for h in config["history"][1:]] == [created] * (len(members) + 1)  # + the config's entry
    layer_history = [h for h in config["history"][1:] if not h.get("empty_layer")]
    assert [h["created_by"] for h in layer_history] == [layer["created_by"] for layer in report["layers"][1:]]

    # what a user runs: the console script, its interpreter, bytecode compiled for the target
    app = {m.name: m for m in members["app"]}
    script = app["app/.venv/bin/layerplan-example"]
    assert script.isfile() and script.mode == 0o755
    tar_bytes = docker.layer_tars[-1]
    assert tar_bytes[script.offset_data : script.offset_data + 25].startswith(b"#!/app/.venv/bin/python\n")
    assert any(name.endswith(".cpython-311.pyc") for name in app)
    assert any(m.name.startswith("app/.venv/lib/python3.11/site-packages/numpy/") and m.name.endswith(".cpython-311.pyc")
               for m in members["dep-numpy"])
    assert config["config"]["Entrypoint"] == ["/app/.venv/bin/layerplan-example"]
    assert config["config"]["User"].split(":")[0] not in ("", "0", "root")


@pytest.mark.parametrize("form", ["oci-archive", "docker-archive"])
def test_every_local_base_form_gives_the_same_layers(
    example_build: ExampleBuild, synthetic_base: SyntheticBase, tmp_path: Path, form: str
) -> None:
    """The base as an OCI archive or a `docker save` tarball: the same target, the same layers."""
    report = build_json(example_build.project, synthetic_base.specs[form], f"oci:{tmp_path / 'oci'}", cache=example_build.cache, env=example_build.env)
    assert report["target"] == example_build.report["target"] == "cpython3.11 linux/amd64 glibc-2.36"
    assert [(layer["name"], layer["digest"]) for layer in ours(report)] == [
        (layer["name"], layer["digest"]) for layer in ours(example_build.report)
    ]
    image, _ = read_oci_layout(tmp_path / "oci")
    check_image(image)
    assert image.config["rootfs"]["diff_ids"][0] == synthetic_base.image.config["rootfs"]["diff_ids"][0]


def test_plan_with_a_registry_base_reads_the_target_like_build(
    example_build: ExampleBuild, memregistry: MemRegistry, synthetic_base: SyntheticBase, tmp_path: Path
) -> None:
    base_ref = seed_base(memregistry, synthetic_base)
    result = layerplan("plan", str(example_build.project), "--base", base_ref, "--cache-dir", str(tmp_path / "cache"), "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["target"]["python_full_version"] == "3.11.2"  # from the base's dpkg status, not an option
    assert plan["target"]["libc"] == "glibc-2.36"  # from libc.so.6
    built = [layer["name"] for layer in ours(example_build.report)]
    assert [layer["name"] for layer in plan["layers"] if layer["kind"] != "config"] == built
    # the base's layer was read to find that, and the answer kept for the next run
    (base_layer,) = synthetic_base.image.layers
    assert len(memregistry.calls("GET", digest_of(base_layer))) == 1
    again = layerplan("plan", str(example_build.project), "--base", base_ref, "--cache-dir", str(tmp_path / "cache"), "--json")
    assert json.loads(again.stdout)["target"] == plan["target"]
    assert len(memregistry.calls("GET", digest_of(base_layer))) == 1



def test_skopeo_reads_every_file_output(example_build: ExampleBuild, memregistry: MemRegistry, tmp_path: Path) -> None:
    """An independent reader (containers/image) takes each file as the image the report names."""
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        unavailable("skopeo is not installed")
    report = build_json(
        example_build.project, example_build.base,
        f"oci:{tmp_path / 'layout'}", f"oci-archive:{tmp_path / 'oci.tar'}", f"docker-archive:{tmp_path / 'docker.tar'}",
        cache=example_build.cache, extra=("--tag", "example/app:1"), env=example_build.env,
    )

    def inspect(*args: str) -> bytes:
        return subprocess.run([skopeo, "inspect", *args], check=True, capture_output=True, timeout=120).stdout

    for source in (f"oci:{tmp_path / 'layout'}", f"oci-archive:{tmp_path / 'oci.tar'}"):
        assert digest_of(inspect("--raw", source)) == report["digest"]
        assert digest_of(inspect("--config", "--raw", source)) == report["config_digest"]
    # skopeo makes up a Docker manifest for a docker-archive; the config is the one written
    assert digest_of(inspect("--config", "--raw", f"docker-archive:{tmp_path / 'docker.tar'}")) == report["config_digest"]
    info = json.loads(inspect(f"oci:{tmp_path / 'layout'}"))
    assert (info["Os"], info["Architecture"], info["Created"]) == ("linux", "amd64", "2023-11-14T22:13:20Z")
    assert info["Layers"] == [layer["digest"] for layer in report["layers"]]
    # and copies it to a registry unchanged
    subprocess.run([skopeo, "copy", "--quiet", "--dest-tls-verify=false", f"oci-archive:{tmp_path / 'oci.tar'}",
                    f"docker://{memregistry.address}/team/copied:1"], check=True, capture_output=True, timeout=120)
    assert digest_of(memregistry.manifest("team/copied", "1")[0]) == report["digest"]


UV_SOURCES = Path(__file__).resolve().parents[1] / "fixtures" / "locks" / "uv-sources"


def test_every_kind_of_local_package_is_installed(tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    """Workspace members, a directory, an editable path, a vendored wheel, git (tag and
    subdirectory) and a direct URL: the materialized plan says where each comes from, and
    the local layer holds every one of them."""
    from gitfixture import LOCKED_COMMIT, ensure_git_fixture

    assert ensure_git_fixture() == LOCKED_COMMIT
    project = tmp_path / "uv-sources"
    shutil.copytree(UV_SOURCES, project)
    report = build_json(
        project, synthetic_base.specs["oci"], f"oci:{tmp_path / 'image'}", cache=tmp_path / "cache", extra=("--python", "3.11")
    )
    image, _ = read_oci_layout(tmp_path / "image")
    (local,) = [layer for layer in ours(report) if layer["kind"] == "local"]
    names = layer_names(image, local["digest"])
    for dist_info in (
        "alpha-0.1.0", "beta-0.1.0", "editable_pkg-0.1.0", "gitdep-0.1.0", "gitsub-0.1.0", "local_dir_pkg-0.1.0",
        "six-1.17.0", "wheel_file_pkg-0.1.0",
    ):
        assert f"app/.venv/lib/python3.11/site-packages/{dist_info}.dist-info/RECORD" in names, dist_info

    # A vendored wheel that is not the file the lock pins is refused, not installed.
    vendored = project / "vendor" / "wheels" / "wheel_file_pkg-0.1.0-py3-none-any.whl"
    vendored.write_bytes(vendored.read_bytes() + b"\0")
    result = layerplan(
        "build", str(project), "--base", synthetic_base.specs["oci"], "--python", "3.11",
        "--output", f"oci:{tmp_path / 'image2'}", "--cache-dir", str(tmp_path / "cache2"),
    )
    assert result.returncode == 2, result.stderr
    assert "wheel_file_pkg-0.1.0-py3-none-any.whl has sha256" in result.stderr and "re-lock" in result.stderr
    assert not (tmp_path / "image2").exists()


def layer_names(image: Any, digest: str) -> list[str]:
    import io
    import tarfile

    index = [digest_of(blob) for blob in image.layers].index(digest)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(image.layers[index]))) as tar:
        return tar.getnames()


def test_a_token_in_the_git_remote_is_not_published(tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    """CI clones with https://user:TOKEN@host/...: the image says where its source is,
    never with the token (labels, annotations, the report)."""
    project = copy_example(tmp_path / "example")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for command in (
        ["git", "init", "-q"],
        ["git", "remote", "add", "origin", "https://deploy-user:s3cr3t-T0KEN@github.com/org/app.git"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "x"],
    ):
        subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)
    result = layerplan(
        "build", str(project), "--base", synthetic_base.specs["oci"], "--output", f"oci:{tmp_path / 'image'}",
        "--cache-dir", str(tmp_path / "cache"), "--json",
    )
    assert result.returncode == 0, result.stderr
    assert "s3cr3t" not in result.stdout + result.stderr
    for path in (tmp_path / "image").rglob("*"):
        if path.is_file() and path.stat().st_size < 1_000_000:
            assert b"s3cr3t" not in path.read_bytes(), path
    image, _ = read_oci_layout(tmp_path / "image")
    assert image.config["config"]["Labels"]["org.opencontainers.image.source"] == "https://github.com/org/app.git"
    assert image.manifest["annotations"]["org.opencontainers.image.source"] == "https://github.com/org/app.git"


PYMODULES = Path(__file__).resolve().parents[1] / "fixtures" / "setuptools-pymodules"


def test_a_warm_cache_never_ships_stale_code(tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    """A change the plan's source digest cannot see (a setuptools `py-modules` module, the
    readme in the wheel's metadata) still rebuilds the app layer: with a warm cache the
    image is the one a cold cache gives, never the old code."""
    project = Path(shutil.copytree(PYMODULES, tmp_path / "app", ignore=shutil.ignore_patterns("regenerate.sh")))
    base = synthetic_base.specs["oci"]

    def build(cache: str) -> dict[str, Any]:
        return build_json(project, base, f"oci:{tmp_path / cache / 'image'}", cache=tmp_path / cache)

    first = build("warm")
    for path, old, new in (("helper.py", '"v1"', '"v2 - security fix"'), ("README.md", "# pymod", "# pymod, renamed")):
        (project / path).write_text((project / path).read_text().replace(old, new))
        warm = build("warm")
        cold = build(f"cold-{path}")
        assert warm["digest"] == cold["digest"], f"{path}: the warm cache gave another image than a cold one"
        assert warm["digest"] != first["digest"], f"{path}: the change did not reach the image"
        app = layer_by_name(warm)["app"]
        assert app["status"] == "built", path
        first = warm


SETUP_PY_ONLY = Path(__file__).resolve().parents[1] / "fixtures" / "setup-py-only"


def test_a_setup_py_project_without_pyproject_builds(tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    """A legacy project (setup.py, no pyproject.toml, a `scripts=` file instead of an entry
    point): built with PEP 517's fallback backend, its script is the entrypoint and runs on
    the venv's Python."""
    import io
    import tarfile

    project = Path(shutil.copytree(SETUP_PY_ONLY, tmp_path / "app", ignore=shutil.ignore_patterns("regenerate.sh")))
    report = build_json(project, synthetic_base.specs["oci"], f"oci:{tmp_path / 'image'}", cache=tmp_path / "cache")
    image, _ = read_oci_layout(tmp_path / "image")
    assert image.config["config"]["Entrypoint"] == ["/app/.venv/bin/greet-tool"]
    app = layer_by_name(report)["app"]
    index = [digest_of(blob) for blob in image.layers].index(app["digest"])
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(image.layers[index]))) as tar:
        script = tar.extractfile("app/.venv/bin/greet-tool")
        assert script is not None
        assert script.readline() == b"#!/app/.venv/bin/python\n"
        assert "app/.venv/lib/python3.11/site-packages/greettool/__init__.py" in tar.getnames()


COMPILED_SDIST = Path(__file__).resolve().parents[1] / "fixtures" / "compiled-sdist"


@pytest.mark.parametrize("case", ["no engine", "base the engine cannot run"])
def test_an_sdist_that_needs_compiling_without_a_builder_is_one_line(
    case: str, tmp_path: Path, synthetic_base: SyntheticBase
) -> None:
    """No engine to compile in, or a base given as files (no --builder): one line that
    names the way out, no traceback, nothing written."""
    project = Path(shutil.copytree(COMPILED_SDIST, tmp_path / "app", ignore=shutil.ignore_patterns("regenerate.sh")))
    args = ["build", str(project), "--base", synthetic_base.specs["oci"], "--output", f"oci:{tmp_path / 'image'}",
            "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"} if case == "no engine" else {}
    if case == "no engine":
        args += ["--builder", "python:3.11-bookworm"]
    result = layerplan(*args, env=env)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "netifaces 0.11.0: netifaces-0.11.0.tar.gz needs compiling (it ships C sources" in line
    expected = "no Docker engine answers" if case == "no engine" else "is not an image the Docker engine can run"
    assert expected in line and "layerplan dockerfile" in line
    assert not (tmp_path / "image").exists()
