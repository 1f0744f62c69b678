"""A direct build served by the build daemon (``LAYERPLAN_DAEMON=1``) gives the image a
build in its own process gives, byte for byte, and a code change in the daemon rebuilds
the app layer alone: the warm process changes how fast, never what."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from daemons import daemon_env, run, started, status  # noqa: F401 - daemon_env: the fixture

from tests.direct_build.conftest import ExampleBuild
from tests.direct_build.helpers import copy_example, layer_by_name


def _build(project: Path, example_build: ExampleBuild, output: Path, env: dict[str, str]) -> dict[str, Any]:
    result = run(
        ["build", str(project), "--base", example_build.base, "--output", f"oci:{output}", "--cache-dir", str(example_build.cache), "--json"],
        {**env, **example_build.env},
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_a_build_in_the_daemon_gives_the_image_its_own_process_gives(
    example_build: ExampleBuild, daemon_env: dict[str, str], tmp_path: Path
) -> None:
    started(daemon_env)
    served = _build(example_build.project, example_build, tmp_path / "served", daemon_env)
    assert status(daemon_env)["served"] == 1  # type: ignore[index]
    assert served["digest"] == example_build.report["digest"]
    assert (tmp_path / "served" / "index.json").read_bytes() == (example_build.output / "index.json").read_bytes()

    # a code change, served: only the app layer is new, and the same edit built in its own
    # process gives the same digest
    project = copy_example(tmp_path / "edited")
    cli = next(project.glob("src/*/cli.py"))
    cli.write_text(cli.read_text() + "\n# an edit\n")
    changed = _build(project, example_build, tmp_path / "changed", daemon_env)
    assert status(daemon_env)["served"] == 2  # type: ignore[index]
    assert changed["digest"] != example_build.report["digest"]
    layers = layer_by_name(changed)
    assert [name for name, layer in layers.items() if layer["status"] == "built"] == ["app"]
    alone = _build(project, example_build, tmp_path / "alone", {**daemon_env, "LAYERPLAN_DAEMON": "0"})
    assert alone["digest"] == changed["digest"]
