"""Issue 10, the no-change path loads only what it uses: a rebuild that finds every layer in
the cache and the image already in the registry imports neither the installer, nor rich
(``--json``, output piped), nor the download stack, nor the cache's prune code, nor the
lock readers of other formats, nor the transports of other kinds, nor the push. A build
that needs no network (a local base, a local output) loads no HTTP stack at all, and its
table printed to a pipe does not load rich's console.

A behaviour guarantee, not a timing: the build runs in a subprocess that writes the names
in ``sys.modules`` when it ends. The cold build first proves the list can see them (it
loads the installer and the download stack to build the layers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from memregistry import MemRegistry
from synthbase import SyntheticBase

from tests.direct_build.test_app_keys_per_backend import BACKENDS, make_project
from tests.direct_build.test_build_registry import seed_base

LOADED = """\
import os, runpy, sys
sys.argv = ["layerplan", *sys.argv[1:]]
try:
    runpy.run_module("layerplan", run_name="__main__", alter_sys=True)
finally:
    with open(os.environ["LAYERPLAN_TEST_MODULES"], "w", encoding="utf-8") as out:
        out.write("\\n".join(sorted(sys.modules)))
"""

NOT_ON_THE_NO_CHANGE_PATH = (
    "installer",  # nothing is installed
    "layerplan.install.wheel",
    "layerplan.install.venv",
    "rich",  # --json, piped: nothing is rendered
    "layerplan.cli.render",
    "layerplan.fetch.fetcher",  # nothing is downloaded
    "layerplan.fetch.index",
    "layerplan.fetch.http",
    "html.parser",
    "layerplan.cache.prune",  # `cache prune`'s, not a build's
    "layerplan.cache.usage",
    "layerplan.lockfiles.pylock",  # a uv.lock is read: no other reader loads
    "layerplan.lockfiles.poetry",
    "layerplan.lockfiles.pdm",
    "layerplan.lockfiles.pipfile",
    "layerplan.lockfiles.requirements",
    "layerplan.project.setup_py",  # the project names itself in pyproject.toml
    "packaging.licenses",  # no license to canonicalize: the project states none, the records know the wheels'
    "layerplan.transports.daemon",  # one registry output: no other transport loads
    "layerplan.transports.docker_archive",
    "layerplan.transports.oci_archive",
    "layerplan.transports.oci_layout",
    "layerplan.registry.push",  # the image is there already: nothing is pushed
)


def loaded_by_build(project: Path, base: str, output: str, cache: Path, tmp: Path) -> tuple[dict[str, Any], set[str]]:
    """``layerplan build --json`` in a new interpreter: its report and every module it imported."""
    printed, modules = printed_by_build(project, base, output, cache, tmp, "--json")
    return json.loads(printed), modules


def printed_by_build(project: Path, base: str, output: str, cache: Path, tmp: Path, *extra: str) -> tuple[str, set[str]]:
    """``layerplan build`` in a new interpreter, its stdout and stderr piped: what it printed
    and every module it imported."""
    modules = tmp / "modules.txt"
    args = ["build", str(project), "--base", base, "--output", output, "--cache-dir", str(cache), *extra]
    environ = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    done = subprocess.run(
        [sys.executable, "-c", LOADED, *args], capture_output=True, text=True,
        env={**environ, "LAYERPLAN_TEST_MODULES": str(modules)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout, set(modules.read_text().split())


def test_a_no_change_rebuild_loads_no_installer_renderer_or_downloader(
    tmp_path: Path, memregistry: MemRegistry, synthetic_base: SyntheticBase
) -> None:
    project = make_project(tmp_path / "app", BACKENDS["hatchling"])
    base = seed_base(memregistry, synthetic_base)
    output = f"docker://{memregistry.address}/nochange-imports/app:1"
    cache = tmp_path / "cache"

    cold, loaded = loaded_by_build(project, base, output, cache, tmp_path)
    assert [o["status"] for o in cold["outputs"]] == ["pushed"]
    assert {"installer", "layerplan.install.wheel"} <= loaded, "the cold build installs: the list sees imports"

    again, loaded = loaded_by_build(project, base, output, cache, tmp_path)
    assert again["app_wheel"]["status"] == "cached" and [o["status"] for o in again["outputs"]] == ["unchanged"]
    assert again["digest"] == cold["digest"]
    assert sorted(set(NOT_ON_THE_NO_CHANGE_PATH) & loaded) == []


def test_a_code_change_rebuild_loads_no_renderer_or_downloader(
    tmp_path: Path, memregistry: MemRegistry, synthetic_base: SyntheticBase
) -> None:
    """Only the app layer is built: the installer loads, the download stack does not
    (every dependency layer is cached), nor rich (``--json``)."""
    project = make_project(tmp_path / "app", BACKENDS["hatchling"])
    base = seed_base(memregistry, synthetic_base)
    output = f"docker://{memregistry.address}/nochange-imports/code:1"
    cache = tmp_path / "cache"
    cold, _ = loaded_by_build(project, base, output, cache, tmp_path)

    package = project / BACKENDS["hatchling"].package / "__init__.py"
    package.write_text(package.read_text().replace('VALUE = "v1"', 'VALUE = "v2"'))
    changed, loaded = loaded_by_build(project, base, output, cache, tmp_path)
    assert changed["app_wheel"]["status"] == "built" and changed["digest"] != cold["digest"]
    assert "installer" in loaded
    assert sorted({"rich", "layerplan.fetch.fetcher", "layerplan.fetch.index", "html.parser"} & loaded) == []


NOT_ON_A_LOCAL_NO_CHANGE_PATH = (
    "requests",  # no request is made: a local base, a local output
    "urllib3",
    "http.client",
    "ssl",
    "layerplan.http.errors",
    "rich.console",  # the table goes to a pipe: written as rich would, without rich
    "rich.table",
    "installer",
)


def test_a_local_no_change_rebuild_loads_no_http_stack_and_prints_its_table_without_rich(
    tmp_path: Path, synthetic_base: SyntheticBase
) -> None:
    project = make_project(tmp_path / "app", BACKENDS["hatchling"])
    base = synthetic_base.specs["oci"]
    output = f"oci:{tmp_path / 'image'}"
    cache = tmp_path / "cache"
    cold, loaded = loaded_by_build(project, base, output, cache, tmp_path)
    assert "rich.console" not in loaded  # --json

    printed, loaded = printed_by_build(project, base, output, cache, tmp_path)
    assert sorted(set(NOT_ON_A_LOCAL_NO_CHANGE_PATH) & loaded) == []
    lines = printed.splitlines()
    assert lines[0].split() == ["layer", "kind", "size", "digest", "build"]
    assert f"{output}: up to date (it already holds this image: nothing sent or written)" in lines
    assert lines[-1].startswith(f"image {cold['digest']}  (")
    assert all(line == line.rstrip() for line in lines)
