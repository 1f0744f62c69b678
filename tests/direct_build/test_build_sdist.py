"""A dependency published only as an sdist, through the CLI: planned as built from source,
built into a wheel by its own backend, installed, and reproducible from any clone.

The project is tests/fixtures/locks/sdist-only (a real `uv lock` of an app depending on
docopt 0.6.2, which PyPI has as an sdist only). Engine-free: the synthetic base, OCI
layout outputs; test_build_sdist_engine.py runs the image.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from loopback import LoopbackServer, running
from ocifiles import read_oci_layout
from sdists import make_sdist
from synthbase import SyntheticBase

from tests.direct_build.helpers import build_json, layer_by_name, layerplan, not_progress

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "locks" / "sdist-only"
SDIST_SHA256 = "49b3a825280bd66b3aa83585ef59c4a8c82f2c8a522dbe754a8bc8d08c85c491"
SITE = "app/.venv/lib/python3.11/site-packages"


@dataclass(frozen=True)
class SdistBuild:
    project: Path
    cache: Path
    base: str
    output: Path
    report: dict[str, Any]


def clone(destination: Path) -> Path:
    shutil.copytree(FIXTURE, destination, ignore=shutil.ignore_patterns("regenerate.sh", ".venv", "__pycache__", "dist"))
    return destination


def docopt_layer(report: dict[str, Any]) -> dict[str, Any]:
    (layer,) = [layer for layer in layer_by_name(report).values() if "docopt==0.6.2" in layer["created_by"]]
    return layer


def layer_files(output: Path, digest: str) -> dict[str, bytes]:
    """The files of the layer ``digest`` of the image in OCI layout ``output``."""
    image, _ = read_oci_layout(output)
    (blob,) = [blob for blob in image.layers if f"sha256:{hashlib.sha256(blob).hexdigest()}" == digest]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def first_build(tmp_path_factory: pytest.TempPathFactory, synthetic_base: SyntheticBase) -> SdistBuild:
    """A cold build of a clone of the fixture: an empty cache, the synthetic base."""
    root = tmp_path_factory.mktemp("sdist-first")
    project = clone(root / "sdist-only")
    base = synthetic_base.specs["oci"]
    report = build_json(project, base, f"oci:{root / 'oci'}", cache=root / "cache")
    return SdistBuild(project=project, cache=root / "cache", base=base, output=root / "oci", report=report)


def test_plan_shows_it_as_built_from_source(synthetic_base: SyntheticBase, tmp_path: Path) -> None:
    base = synthetic_base.specs["oci"]
    shown = layerplan("plan", str(FIXTURE), "--base", base, "--cache-dir", str(tmp_path / "cache"), "--json")
    assert shown.returncode == 0, shown.stderr
    plan = json.loads(shown.stdout)
    (docopt,) = [p for layer in plan["layers"] for p in layer["packages"] if p["name"] == "docopt"]
    assert docopt["choice"] == "sdist" and docopt["note"] == "sdist only"
    assert docopt["file"] == "docopt-0.6.2.tar.gz" and docopt["size"] == 25901
    assert docopt["url"].endswith("/docopt-0.6.2.tar.gz") and docopt["hashes"] == [f"sha256:{SDIST_SHA256}"]
    assert docopt["build"].startswith("its own PEP 517 backend in an isolated environment")
    table = layerplan("plan", str(FIXTURE), "--base", base, "--cache-dir", str(tmp_path / "cache"))
    assert table.returncode == 0, table.stderr
    assert "docopt 0.6.2 (built from sdist)" in table.stdout
    assert "docopt 0.6.2: no wheel (sdist only), built from docopt-0.6.2.tar.gz by its own PEP 517 backend" in table.stdout


def test_build_installs_the_wheel_built_from_the_sdist(first_build: SdistBuild) -> None:
    report = first_build.report
    (built,) = report["built_from_source"]
    assert built["name"] == "docopt" and built["version"] == "0.6.2" and built["status"] == "built"
    assert built["sdist"] == {"file": "docopt-0.6.2.tar.gz", "sha256": SDIST_SHA256, "url": built["sdist"]["url"]}
    assert built["backend"] == "setuptools.build_meta:__legacy__"  # a bare setup.py: PEP 517's fallback
    assert [pin.split("==")[0] for pin in built["build_requirements"]] == ["setuptools"]
    assert built["indexes"] == ["https://pypi.org/simple"]  # the lock's index, as materialized
    assert built["wheel"]["file"] == "docopt-0.6.2-py2.py3-none-any.whl"

    layer = docopt_layer(report)
    assert layer["status"] == "built" and layer["kind"] == "dependencies"
    files = layer_files(first_build.output, layer["digest"])
    assert files[f"{SITE}/docopt.py"].startswith(b'"""Pythonic command-line interface parser')
    record = files[f"{SITE}/docopt-0.6.2.dist-info/RECORD"].decode()
    assert "docopt.py,sha256=" in record and files[f"{SITE}/docopt-0.6.2.dist-info/INSTALLER"] == b"layerplan\n"
    assert f"{SITE}/docopt-0.6.2.dist-info/REQUESTED" in files  # a direct dependency of the project
    # the cache keeps the sdist (by its hash) and the wheel built from it -- beside the
    # project's own wheel, kept by the fingerprint of its inputs
    info = layerplan("cache", "info", "--cache-dir", str(first_build.cache))
    assert re.search(r"built-wheels\s+2\s", info.stdout), info.stdout
    kept = sorted(p.name for p in (first_build.cache / "built-wheels").glob("*/*.whl"))
    assert len(kept) == 2 and kept[0].startswith("docopt-0.6.2-"), kept


def test_two_clones_with_two_empty_caches_give_the_same_layers(first_build: SdistBuild, tmp_path: Path) -> None:
    """The issue's "done when": another checkout path, other file times, another empty cache."""
    project = clone(tmp_path / "elsewhere" / "checkout")
    stamp = time.time() - 86400 * 7
    for path in [project, *project.rglob("*")]:
        os.utime(path, (stamp, stamp))
    report = build_json(project, first_build.base, f"oci:{tmp_path / 'oci'}", cache=tmp_path / "cache")

    (built,) = report["built_from_source"]
    assert built["status"] == "built"  # made again, not taken from a cache
    assert built["wheel"]["sha256"] == first_build.report["built_from_source"][0]["wheel"]["sha256"]
    first, second = docopt_layer(first_build.report), docopt_layer(report)
    print(f"\nlayer {first['name']}: first clone {first['digest']}, second clone {second['digest']}")
    assert second["status"] == "built" and second["digest"] == first["digest"]
    assert [(l["name"], l["digest"]) for l in report["layers"]] == [(l["name"], l["digest"]) for l in first_build.report["layers"]]
    assert report["digest"] == first_build.report["digest"]


def test_a_second_build_reuses_the_built_wheel(first_build: SdistBuild, tmp_path: Path) -> None:
    """Another SOURCE_DATE_EPOCH: the layer is new, but the wheel is the one the store has
    (it depends on the sdist and its build requirements, not on the image's time)."""
    report = build_json(
        first_build.project, first_build.base, f"oci:{tmp_path / 'oci'}", cache=first_build.cache,
        env={"SOURCE_DATE_EPOCH": "1700000000"},
    )  # fmt: skip
    assert docopt_layer(report)["status"] == "built"
    (built,) = report["built_from_source"]
    assert built["status"] == "cached"
    assert built["wheel"] == first_build.report["built_from_source"][0]["wheel"]
    assert built["build_requirements"] == first_build.report["built_from_source"][0]["build_requirements"]
    # and with the layer cached too, nothing is built from source at all
    again = build_json(first_build.project, first_build.base, f"oci:{tmp_path / 'oci2'}", cache=first_build.cache)
    assert docopt_layer(again)["status"] == "cached" and again["built_from_source"] == []


def point_lock_at(project: Path, url: str, sdist: bytes | None = None) -> None:
    """Make the clone's uv.lock fetch docopt's sdist from ``url``, and, given ``sdist``, pin
    that file's hash and size instead (what a lock of another docopt would say)."""
    lock = project / "uv.lock"
    text = lock.read_text()
    entry = re.search(r'^sdist = \{ url = "[^"]+docopt-0\.6\.2\.tar\.gz", hash = "sha256:([0-9a-f]{64})", size = (\d+)', text, re.M)
    assert entry is not None
    sha256, size = (hashlib.sha256(sdist).hexdigest(), len(sdist)) if sdist is not None else (entry[1], entry[2])
    lock.write_text(text.replace(entry[0], f'sdist = {{ url = "{url}", hash = "sha256:{sha256}", size = {size}'))


@pytest.fixture
def server() -> Any:
    with running() as loopback:
        yield loopback


def test_a_tampered_sdist_is_one_line(server: LoopbackServer, synthetic_base: SyntheticBase, tmp_path: Path) -> None:
    """The server's file is not the one the lock pins: refused before anything is built."""
    real = (FIXTURE / "uv.lock").read_text()
    assert SDIST_SHA256 in real
    tampered = make_sdist(tmp_path / "evil", {"setup.py": "raise SystemExit('never run')\n"}, name="docopt", version="0.6.2")
    url = server.serve("/packages/docopt-0.6.2.tar.gz", tampered.read_bytes())
    project = clone(tmp_path / "sdist-only")
    point_lock_at(project, url)
    result = layerplan(
        "build", str(project), "--base", synthetic_base.specs["oci"], "--output", f"oci:{tmp_path / 'oci'}",
        "--cache-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    said = not_progress(result.stderr)
    assert said.count("\n") == 1 and said.startswith("error: docopt: hash mismatch for "), result.stderr
    assert f"expected sha256:{SDIST_SHA256}" in said and "the file was discarded" in said
    assert not (tmp_path / "oci").exists()
    # nothing built from the tampered sdist is kept (the project's own wheel may be)
    assert not list((tmp_path / "cache" / "built-wheels").glob("*/docopt-*"))


def test_an_sdist_whose_build_fails_is_one_line_ending_with_the_reason(
    server: LoopbackServer, synthetic_base: SyntheticBase, tmp_path: Path
) -> None:
    broken = make_sdist(
        tmp_path / "broken", {"setup.py": "raise RuntimeError('docopt needs a newer setuptools, says this broken sdist')\n"},
        name="docopt", version="0.6.2",
    )  # fmt: skip
    url = server.serve("/packages/docopt-0.6.2.tar.gz", broken.read_bytes())
    project = clone(tmp_path / "sdist-only")
    point_lock_at(project, url, broken.read_bytes())
    result = layerplan(
        "build", str(project), "--base", synthetic_base.specs["oci"], "--output", f"oci:{tmp_path / 'oci'}",
        "--cache-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    said = not_progress(result.stderr)
    assert said.count("\n") == 1, result.stderr
    assert said.startswith("error: docopt 0.6.2: cannot build a wheel from docopt-0.6.2.tar.gz")
    assert said.rstrip("\n").endswith("RuntimeError: docopt needs a newer setuptools, says this broken sdist")
    assert not (tmp_path / "oci").exists()
