"""The image says what it is (issue 9, honest labels): `org.opencontainers.image.*` from
the project's metadata and git, without credentials; the base's own ones not inherited;
`created` from --created, else SOURCE_DATE_EPOCH, else HEAD's commit time -- in the
config only, never in a layer. Several tags for one push, and the digest file.

Engine-free: a small setuptools project (no dependencies) on the synthetic base, and the
in-memory registry. The tests share one cache, so only the first builds the app's
build environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from memregistry import MemRegistry
from ocifiles import make_image, make_layer, read_oci_layout, write_oci_layout
from synthbase import PATH, SyntheticBase, _rootfs

from tests.direct_build.helpers import layer_by_name, layerplan
from tests.direct_build.test_build_registry import one_line_error

PYMODULES = Path(__file__).resolve().parents[1] / "fixtures" / "setuptools-pymodules"
COMMIT_DATE = "2024-01-02T03:04:05Z"
COMMIT_EPOCH = 1704164645
NO_SDE = {"SOURCE_DATE_EPOCH": ""}  # unset for the build (an empty value is no value)
ABOUT = """description = "A tiny app with honest labels"
license = "MIT OR Apache-2.0"

[project.urls]
Homepage = "https://deploy:hunter2-HOME@example.invalid/home"
Source = "https://example.invalid/declared-source"
"""


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("labels-cache")


@pytest.fixture(scope="module")
def labelled_base(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The synthetic base with labels of its own, OCI ones and another."""
    config = {
        "architecture": "amd64", "os": "linux", "created": "2026-11-01T00:00:00Z",
        "config": {
            "Env": [f"PATH={PATH}"], "Cmd": ["python3"],
            "Labels": {
                "org.opencontainers.image.title": "debian", "org.opencontainers.image.licenses": "GPL-2.0-only",
                "org.opencontainers.image.source": "https://example.invalid/base", "maintainer": "base team",
            },
        },
    }  # fmt: skip
    image = make_image([make_layer(_rootfs("3.11"))], config, history=["synthetic Debian 12 rootfs"])
    return f"oci:{write_oci_layout(image, tmp_path_factory.mktemp('labelled-base') / 'layout')}"


def small_project(tmp_path: Path, *, remote: str | None = None, about: str = ABOUT) -> Path:
    """The setuptools-pymodules fixture with a description, license and URLs, committed
    to git at ``COMMIT_DATE`` (with ``origin`` = ``remote``) unless ``remote`` is ``None``."""
    project = Path(shutil.copytree(PYMODULES, tmp_path / "app", ignore=shutil.ignore_patterns("regenerate.sh")))
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text.replace('readme = "README.md"\n', f'readme = "README.md"\n{about}', 1))
    if remote is not None:
        env = {
            **os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t", "GIT_AUTHOR_DATE": COMMIT_DATE, "GIT_COMMITTER_DATE": COMMIT_DATE,
            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
        }  # fmt: skip
        for command in (["git", "init", "-q"], ["git", "remote", "add", "origin", remote], ["git", "add", "-A"], ["git", "commit", "-qm", "x"]):
            subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)
    return project


def build(project: Path, base: str, output: str, cache: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = layerplan(
        "build", str(project), "--base", base, "--output", output, "--cache-dir", str(cache), "--json", *extra,
        env={**NO_SDE, **(env or {})},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def labels_of(layout: Path) -> tuple[dict[str, str], dict[str, Any]]:
    image, _ = read_oci_layout(layout)
    return image.config["config"]["Labels"], image.config


def commit_of(project: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, check=True, capture_output=True, text=True).stdout.strip()


def test_labels_come_from_the_project_and_git_not_from_the_base(tmp_path: Path, cache: Path, labelled_base: str) -> None:
    project = small_project(tmp_path, remote="git@github.com:org/tiny-app.git")
    report = build(project, labelled_base, f"oci:{tmp_path / 'image'}", cache)
    labels, config = labels_of(tmp_path / "image")
    oci = {k.removeprefix("org.opencontainers.image."): v for k, v in labels.items() if k.startswith("org.opencontainers.image.")}
    assert oci == {
        "title": "pymod-app",
        "description": "A tiny app with honest labels",
        "version": "0.1.0",
        "licenses": "MIT OR Apache-2.0",
        "url": "https://example.invalid/home",  # the Homepage, its user and password removed
        "source": "https://github.com/org/tiny-app.git",  # git's origin wins over the declared Source
        "revision": commit_of(project),
        "created": COMMIT_DATE,  # HEAD's commit time: no SOURCE_DATE_EPOCH, no --created
        "base.digest": report["base"]["digest"],  # a local base has no reference: no base.name
    }
    assert labels["maintainer"] == "base team", "labels that are not the base's description are kept"
    assert config["created"] == COMMIT_DATE
    assert "hunter2" not in json.dumps(config) + json.dumps(report)
    image, _ = read_oci_layout(tmp_path / "image")
    annotations = image.manifest["annotations"]
    assert annotations["org.opencontainers.image.created"] == COMMIT_DATE
    assert annotations["org.opencontainers.image.source"] == "https://github.com/org/tiny-app.git"


def test_without_git_the_declared_source_and_no_revision(tmp_path: Path, cache: Path, labelled_base: str) -> None:
    about = 'license = {text = "BSD-3-Clause"}\n\n[project.urls]\nRepository = "https://example.invalid/repo"\n'
    project = small_project(tmp_path, about=about)
    build(project, labelled_base, f"oci:{tmp_path / 'image'}", cache)
    labels, config = labels_of(tmp_path / "image")
    assert labels["org.opencontainers.image.licenses"] == "BSD-3-Clause"
    assert labels["org.opencontainers.image.source"] == labels["org.opencontainers.image.url"] == "https://example.invalid/repo"
    assert "org.opencontainers.image.revision" not in labels and "org.opencontainers.image.description" not in labels
    assert config["created"] == "1980-01-01T00:00:00Z"  # no git, no SOURCE_DATE_EPOCH: the fixed date


def test_created_changes_the_config_and_never_a_layer(tmp_path: Path, cache: Path, synthetic_base: SyntheticBase) -> None:
    """--created > SOURCE_DATE_EPOCH > git > 1980: each one's date is the config's, and
    every layer is the same (SOURCE_DATE_EPOCH also sets the files' times: its layers
    differ, as they always did)."""
    project = small_project(tmp_path, remote="https://example.invalid/x.git")
    base = synthetic_base.specs["oci"]

    def created(*extra: str, env: dict[str, str] | None = None, name: str) -> tuple[str, dict[str, Any]]:
        report = build(project, base, f"oci:{tmp_path / name}", cache, *extra, env=env)
        return labels_of(tmp_path / name)[1]["created"], report

    from_git, git_report = created(name="git")
    assert from_git == COMMIT_DATE
    given, given_report = created("--created", "2025-06-01T10:00:00+02:00", name="given")
    assert given == "2025-06-01T08:00:00Z"
    seconds, _ = created("--created", "1700000000", name="seconds")
    assert seconds == "2023-11-14T22:13:20Z"
    over_sde, _ = created("--created", "1700000000", env={"SOURCE_DATE_EPOCH": "1600000000"}, name="over-sde")
    assert over_sde == "2023-11-14T22:13:20Z", "--created wins over SOURCE_DATE_EPOCH"
    sde, _ = created(env={"SOURCE_DATE_EPOCH": "1600000000"}, name="sde")
    assert sde == "2020-09-13T12:26:40Z", "an explicit SOURCE_DATE_EPOCH wins over git"

    layers = {name: layer["digest"] for name, layer in layer_by_name(git_report).items()}
    assert {name: layer["digest"] for name, layer in layer_by_name(given_report).items()} == layers
    assert {layer["status"] for layer in layer_by_name(given_report).values()} == {"cached"}, "no layer is rebuilt for a date"
    assert given_report["config_digest"] != git_report["config_digest"]
    assert given_report["digest"] != git_report["digest"]

    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text + '\n[tool.layerplan]\ncreated = "2021-02-03T04:05:06Z"\n')
    from_config, _ = created(name="config")
    assert from_config == "2021-02-03T04:05:06Z"


@pytest.mark.parametrize("value", ["yesterday", "2024-01-01T00:00:00"])
def test_a_bad_created_is_one_line(tmp_path: Path, cache: Path, synthetic_base: SyntheticBase, value: str) -> None:
    result = layerplan(
        "build", str(small_project(tmp_path)), "--base", synthetic_base.specs["oci"], "--output", f"oci:{tmp_path / 'x'}",
        "--cache-dir", str(cache), "--created", value,
    )  # fmt: skip
    one_line_error(result, "--created")
    assert not (tmp_path / "x").exists()


def test_several_tags_one_push_and_the_digest_file(tmp_path: Path, cache: Path, synthetic_base: SyntheticBase, memregistry: MemRegistry) -> None:
    project = small_project(tmp_path)
    digest_file = tmp_path / "ci" / "digests.txt"
    report = build(
        project, synthetic_base.specs["oci"], f"docker://{memregistry.address}/team/tags:1.4.0,latest", cache,
        "--tag", f"{memregistry.address}/team/tags:stable", "--tag", "elsewhere/app:9",  # only the first is this repository's
        "--output", f"docker://{memregistry.address}/team/mirror", "--digest-file", str(digest_file),
    )  # fmt: skip
    digest = report["digest"]
    tags, mirror = report["outputs"]
    assert tags["tags"] == ["1.4.0", "latest", "stable"]
    assert mirror["tags"] == ["0.1.0"]  # no tag written: the project's version
    repo = memregistry.repos["team/tags"]
    assert {tag: repo.tags[tag] for tag in ("1.4.0", "latest", "stable")} == dict.fromkeys(("1.4.0", "latest", "stable"), digest)
    assert "9" not in repo.tags
    assert digest_file.read_text() == f"{memregistry.address}/team/tags@{digest}\n{memregistry.address}/team/mirror@{digest}\n"
    assert report["digest_file"] == str(digest_file)


def test_a_file_output_only_writes_an_empty_digest_file(tmp_path: Path, cache: Path, synthetic_base: SyntheticBase) -> None:
    digest_file = tmp_path / "digests.txt"
    digest_file.write_text("stale\n")
    text = (PYMODULES / "pyproject.toml").read_text()
    project = small_project(tmp_path)
    (project / "pyproject.toml").write_text(text + '\n[tool.layerplan]\ndigest-file = "../digests.txt"\n')
    build(project, synthetic_base.specs["oci"], f"oci:{tmp_path / 'image'}", cache)
    assert digest_file.read_text() == ""


def test_a_bad_extra_tag_is_one_line(tmp_path: Path) -> None:
    project = small_project(tmp_path)  # a copy: the app's wheel may start building before the outputs are read
    result = layerplan("build", str(project), "--base", "x", "--output", "docker://127.0.0.1:5999/a:1,no/slash")
    one_line_error(result, "invalid tag 'no/slash'")
