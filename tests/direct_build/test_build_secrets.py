"""Credentials in the git remote and in the lock's URLs end up nowhere (issue 9): not in
any blob of the pushed image (manifest, config, every layer decompressed), not in its
attachments (SBOMs, provenance, the referrers tag's index), not in the file outputs, the
digest file, the JSON report or the log.

The lock names a package on an index that wants basic auth, written into its URLs
(``http://user:SECRET@127.0.0.1:PORT/...``, as private indexes are often written), served
on loopback; the build really fetches it with those credentials. The image goes to the
real test registry (distribution: the referrers tag).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.direct_build.conftest import ExampleBuild
from tests.direct_build.helpers import copy_example, layer_by_name, layerplan

SECRET = "s3cr3t-TOKEN-9d1f"
USER = "deploy-user"
GIT_SECRET = "gitpw-7c2e"
AUTH = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
HUMANIZE = "humanize-4.16.0-py3-none-any.whl"
HUMANIZE_SHA = "353eb2f34c09d098b2880eee8bef21832eae6d174f48c5762fff7e5fcb74d01d"
NEEDLES = (SECRET, GIT_SECRET, AUTH)


class _Index(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).seen.append(self.path)
        if self.headers.get("Authorization") != f"Basic {AUTH}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="index"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = self.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def private_index(example_build: ExampleBuild) -> Iterator[str]:
    """``http://127.0.0.1:PORT``, serving the humanize wheel to ``USER:SECRET`` only."""
    wheel = example_build.cache / "wheels" / "sha256" / HUMANIZE_SHA / HUMANIZE
    _Index.files = {f"/files/{HUMANIZE}": wheel.read_bytes()}
    _Index.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def credentialed_project(tmp_path: Path, index: str) -> Path:
    project = copy_example(tmp_path / "example")
    lock = (project / "uv.lock").read_text()
    block_start = lock.index('name = "humanize"')
    block_end = lock.index("[[package]]", block_start)
    block = lock[block_start:block_end]
    private = f"http://{USER}:{SECRET}@{index}"
    block = block.replace('source = { registry = "https://pypi.org/simple" }', f'source = {{ registry = "{private}/simple" }}')
    wheel_url = next(part.split('"')[1] for part in block.split("url = ")[1:] if HUMANIZE in part.split('"')[1])
    block = block.replace(wheel_url, f"{private}/files/{HUMANIZE}")
    (project / "uv.lock").write_text(lock[:block_start] + block + lock[block_end:])
    env = {
        **os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    }  # fmt: skip
    for command in (
        ["git", "init", "-q"],
        ["git", "remote", "add", "origin", f"https://ci-bot:{GIT_SECRET}@example.invalid/org/app.git"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "x"],
    ):
        subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)
    return project


def warm_cache_without_humanize(example_build: ExampleBuild, destination: Path) -> Path:
    """The example's cache (hard links) without the humanize wheel and without the layer
    that holds it: the build rebuilds that layer, and fetches the wheel from the index."""
    shutil.copytree(example_build.cache, destination, copy_function=os.link)
    shutil.rmtree(destination / "wheels" / "sha256" / HUMANIZE_SHA)
    # the records of the small layers (one of them holds humanize): rebuilt, the big ones kept
    small = {layer["digest"] for layer in layer_by_name(example_build.report).values() if layer["size"] < 4_000_000}
    for record in (destination / "keys").rglob("*.json"):
        if json.loads(record.read_bytes()).get("digest") in small:
            record.unlink()
    return destination


def assert_clean(what: str, data: bytes | str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    for needle in NEEDLES:
        assert needle.encode() not in raw, f"{needle!r} in {what}"


def get(registry: str, repository: str, kind: str, reference: str) -> requests.Response:
    accept = ", ".join(
        ("application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
         "application/vnd.docker.distribution.manifest.v2+json")
    )  # fmt: skip
    answer = requests.get(f"http://{registry}/v2/{repository}/{kind}/{reference}", headers={"Accept": accept}, timeout=60)
    assert answer.status_code == 200, (kind, reference, answer.status_code)
    return answer


def read_every_blob(registry: str, repository: str, tag: str, digest: str) -> dict[str, bytes]:
    """Every manifest and blob of the image and of what refers to it, layers decompressed."""
    found: dict[str, bytes] = {}

    def manifest_and_blobs(reference: str) -> dict[str, Any]:
        data = get(registry, repository, "manifests", reference).content
        found[f"manifest {reference}"] = data
        manifest: dict[str, Any] = json.loads(data)
        for descriptor in [manifest["config"], *manifest["layers"]]:
            blob = get(registry, repository, "blobs", descriptor["digest"]).content
            is_gzip = descriptor["mediaType"].endswith("gzip")
            found[f"blob {descriptor['digest']}"] = gzip.decompress(blob) if is_gzip else blob
        return manifest

    manifest_and_blobs(tag)
    index_data = get(registry, repository, "manifests", "sha256-" + digest.split(":")[1]).content
    found["referrers tag"] = index_data
    for entry in json.loads(index_data)["manifests"]:
        manifest_and_blobs(entry["digest"])
    return found


@pytest.mark.engine
def test_no_credential_ends_up_anywhere(
    example_build: ExampleBuild, private_index: str, registry: str, tmp_path: Path
) -> None:
    project = credentialed_project(tmp_path, private_index)
    cache = warm_cache_without_humanize(example_build, tmp_path / "cache")
    repository = f"layerplan-test/supply-{uuid.uuid4().hex[:12]}/app"
    digest_file = tmp_path / "digests.txt"
    args = [
        "build", str(project), "--base", example_build.base, "--cache-dir", str(cache),
        "--output", f"docker://{registry}/{repository}:1.0,latest", "--output", f"oci:{tmp_path / 'oci'}",
        "--digest-file", str(digest_file),
    ]  # fmt: skip
    logged = layerplan(*args, "-v", env=example_build.env)
    assert logged.returncode == 0, logged.stderr
    assert f"/files/{HUMANIZE}" in _Index.seen, "the build fetched the wheel from the private index"
    again = layerplan(*args, "--json", env=example_build.env)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["provenance"] and len(report["sbom"]) == 2

    for name, text in (("the log (stderr)", logged.stderr), ("the table (stdout)", logged.stdout),
                       ("the JSON report", again.stdout), ("the JSON run's stderr", again.stderr)):  # fmt: skip
        assert_clean(name, text)
    blobs = read_every_blob(registry, repository, "1.0", report["digest"])
    assert len(blobs) > 12  # image manifest, config, layers; 3 artifacts with their blobs; the tag
    for name, data in blobs.items():
        assert_clean(f"{name} in the registry", data)
    for path in [*(tmp_path / "oci").rglob("*"), *tmp_path.glob("oci.*"), digest_file]:
        if path.is_file():
            data = path.read_bytes()
            assert_clean(str(path), gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)

    # what is there instead: the index without its credentials, the remote as its web address
    config = json.loads(blobs[f"blob {report['config_digest']}"])
    assert config["config"]["Labels"]["org.opencontainers.image.source"] == "https://example.invalid/org/app.git"
    statement = json.loads(Path(f"{tmp_path / 'oci'}.provenance.intoto.json").read_bytes())
    uris = {d.get("uri") for d in statement["predicate"]["buildDefinition"]["resolvedDependencies"]}
    assert f"http://{private_index}/files/{HUMANIZE}" in uris
    assert f"git+https://example.invalid/org/app.git@" in " ".join(u for u in uris if u)
    assert digest_file.read_text() == f"{registry}/{repository}@{report['digest']}\n"
