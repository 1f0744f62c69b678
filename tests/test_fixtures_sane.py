"""The real lockfile fixtures and the example project are what the rest of the suite assumes.

Static checks only (no network, no lock tools): the files in ``tests/fixtures/locks/basic``
name one pinned set in every format, with the same markers and the same allowed files;
``uv-sources`` has every kind of source; ``example-project`` is a runnable app for the
image tests. The fixtures are written by ``tests/fixtures/locks/regenerate.sh``; when a
regeneration changes what is asserted here, the tests that rely on it must change too.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
LOCKS = REPO / "tests" / "fixtures" / "locks"
BASIC = LOCKS / "basic"
UV_SOURCES = LOCKS / "uv-sources"
EXAMPLE = REPO / "example-project"

TOP_LEVEL = {
    "numpy": "2.2.6",
    "pydantic": "2.11.7",
    "requests": "2.32.5",
    "colorama": "0.4.6",
    "tomli": "2.2.1",
}
PINNED = {
    **TOP_LEVEL,
    "annotated-types": "0.8.0",
    "certifi": "2026.10.19.post1",
    "charset-normalizer": "3.5.3",
    "idna": "3.20",
    "pydantic-core": "2.33.2",
    "pysocks": "1.7.1",
    "typing-extensions": "4.16.0",
    "typing-inspection": "0.4.5",
    "urllib3": "2.8.0",
}
WINDOWS_ONLY = "colorama"
BEFORE_311_ONLY = "tomli"


def _toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def _environment(python: str, sys_platform: str = "linux") -> dict[str, str]:
    """A full marker environment for CPython ``python`` (``3.11``) on ``sys_platform``."""
    windows = sys_platform == "win32"
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "os_name": "nt" if windows else "posix",
        "platform_machine": "AMD64" if windows else "x86_64",
        "platform_release": "",
        "platform_system": "Windows" if windows else "Linux",
        "platform_version": "",
        "python_full_version": f"{python}.0",
        "platform_python_implementation": "CPython",
        "python_version": python,
        "sys_platform": sys_platform,
    }


LINUX_310 = _environment("3.10")
LINUX_311 = _environment("3.11")
LINUX_313 = _environment("3.13")
WINDOWS_311 = _environment("3.11", "win32")


# --- one small reader per format: name -> (version, marker or None, sha256 set) ------------

Entry = tuple[str, "str | None", frozenset[str]]


def _sha256s(hashes: Any) -> frozenset[str]:
    """sha256 digests from ``["sha256:..."]``, ``"sha256:..."`` or ``{"sha256": ...}``."""
    if isinstance(hashes, dict):
        return frozenset([hashes["sha256"]])
    if isinstance(hashes, str):
        hashes = [hashes]
    return frozenset(h.split(":", 1)[1] for h in hashes if h.startswith("sha256:"))


def _read_uv_lock(path: Path) -> dict[str, Entry]:
    data = _toml(path)
    root = next(p for p in data["package"] if p["name"] == "basic-fixture")
    root_markers = {dep["name"]: dep.get("marker") for dep in root["dependencies"]}
    out = {}
    for package in data["package"]:
        if "registry" not in package["source"]:
            continue
        files = [*package.get("wheels", ()), *([package["sdist"]] if "sdist" in package else ())]
        hashes = frozenset().union(*(_sha256s(f["hash"]) for f in files))
        out[package["name"]] = (package["version"], root_markers.get(package["name"]), hashes)
    return out


def _read_pylock(path: Path) -> dict[str, Entry]:
    out = {}
    for package in _toml(path)["packages"]:
        if "index" not in package:
            continue
        files = [*package.get("wheels", ()), *([package["sdist"]] if "sdist" in package else ())]
        hashes = frozenset().union(*(_sha256s(f["hashes"]) for f in files))
        out[package["name"]] = (package["version"], package.get("marker"), hashes)
    return out


_REQUIREMENT_LINE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$")


def _read_requirements(path: Path) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    current = None
    for line in path.read_text().splitlines():
        match = _REQUIREMENT_LINE.match(line)
        if match:
            current = canonicalize_name(match["name"])
            out[current] = (match["version"], match["marker"], frozenset())
        elif current and line.strip().startswith("--hash=sha256:"):
            version, marker, hashes = out[current]
            digest = line.strip().removeprefix("--hash=sha256:").rstrip(" \\")
            out[current] = (version, marker, hashes | {digest})
    return out


def _read_poetry(path: Path) -> dict[str, Entry]:
    return {
        p["name"]: (p["version"], p.get("markers"), frozenset().union(*(_sha256s(f["hash"]) for f in p["files"])))
        for p in _toml(path)["package"]
    }


def _read_pdm(path: Path) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for p in _toml(path)["package"]:
        entry = (p["version"], p.get("marker"), frozenset().union(*(_sha256s(f["hash"]) for f in p["files"])))
        # pdm writes `requests[socks]` as a second entry named `requests`: same version and files.
        assert out.setdefault(p["name"], entry) == entry, p["name"]
    return out


def _read_pipfile_lock(path: Path) -> dict[str, Entry]:
    default = json.loads(path.read_text())["default"]
    return {
        name: (info["version"].removeprefix("=="), info.get("markers"), _sha256s(info["hashes"]))
        for name, info in default.items()
    }


READERS: dict[str, Callable[[Path], dict[str, Entry]]] = {
    "uv.lock": _read_uv_lock,
    "pylock.toml": _read_pylock,
    "requirements.txt": _read_requirements,
    "poetry.lock": _read_poetry,
    "pdm.lock": _read_pdm,
    "pdm-static-urls/pdm.lock": _read_pdm,
    "Pipfile.lock": _read_pipfile_lock,
}
FLAT_MARKERS = [name for name in READERS if name != "uv.lock"]
"""Formats where every package carries its own marker (uv.lock keeps markers on edges)."""


@pytest.fixture(scope="module", params=sorted(READERS))
def lock(request: pytest.FixtureRequest) -> tuple[str, dict[str, Entry]]:
    name = request.param
    return name, READERS[name](BASIC / name)


# --- basic/ --------------------------------------------------------------------------


def test_every_basic_file_exists() -> None:
    expected = [
        "pyproject.toml", "src/basic_fixture/__init__.py", "uv.lock", "pylock.toml", "requirements.txt",
        "poetry.lock", "poetry/pyproject.toml", "poetry/poetry.lock", "pdm.lock", "pdm-static-urls/pdm.lock",
        "Pipfile", "Pipfile.lock", "tool-versions.txt",
    ]  # fmt: skip
    missing = [name for name in expected if not (BASIC / name).is_file()]
    assert not missing
    assert (LOCKS / "regenerate.sh").is_file() and (LOCKS / "README.md").is_file()


def test_every_format_pins_the_same_set(lock: tuple[str, dict[str, Entry]]) -> None:
    name, entries = lock
    assert {package: version for package, (version, _, _) in entries.items()} == PINNED, name


ALL_FILES = ("poetry.lock", "requirements.txt", "Pipfile.lock")
"""Formats that allow every file of the release; uv, pylock and pdm drop the files whose
Python tag cannot match ``requires-python`` (here: cp39, pp39 and py27 wheels)."""


def test_every_format_allows_the_same_files(lock: tuple[str, dict[str, Entry]]) -> None:
    """The formats agree on which files may be installed (per package, by sha256)."""
    name, entries = lock
    reference_name = "poetry.lock" if name in ALL_FILES else "uv.lock"
    reference = READERS[reference_name](BASIC / reference_name)
    for package, (_, _, hashes) in entries.items():
        assert hashes, f"{name}: {package} has no sha256"
        assert hashes == reference[package][2], f"{name}: {package}"


def test_files_beyond_uv_are_for_older_pythons_only() -> None:
    uv = _read_uv_lock(BASIC / "uv.lock")
    extra = [
        f["file"]
        for p in _toml(BASIC / "poetry.lock")["package"]
        for f in p["files"]
        if not _sha256s(f["hash"]) <= uv[p["name"]][2]
    ]
    assert extra, "poetry.lock is expected to list the cp39/py27 files uv leaves out"
    assert all(re.search(r"-(cp39-cp39|pp39-pypy39_pp73|py27-none)-", f) for f in extra), extra


@pytest.mark.parametrize("name", READERS)
def test_conditional_packages_keep_their_markers(name: str) -> None:
    entries = READERS[name](BASIC / name)
    colorama = Marker(entries[WINDOWS_ONLY][1])
    tomli = Marker(entries[BEFORE_311_ONLY][1])
    assert colorama.evaluate(WINDOWS_311) and not colorama.evaluate(LINUX_311)
    assert tomli.evaluate(LINUX_310) and not tomli.evaluate(LINUX_311) and not tomli.evaluate(LINUX_313)


@pytest.mark.parametrize("name", FLAT_MARKERS)
@pytest.mark.parametrize(
    ("environment", "left_out"),
    [(LINUX_310, {WINDOWS_ONLY}), (LINUX_311, {WINDOWS_ONLY, BEFORE_311_ONLY}), (WINDOWS_311, {BEFORE_311_ONLY})],
    ids=["linux-3.10", "linux-3.11", "windows-3.11"],
)
def test_per_package_markers_give_the_expected_install_set(
    name: str, environment: dict[str, str], left_out: set[str]
) -> None:
    entries = READERS[name](BASIC / name)
    selected = {p for p, (_, marker, _) in entries.items() if marker is None or Marker(marker).evaluate(environment)}
    assert selected == set(PINNED) - left_out


def test_project_requirements_are_the_top_level_pins() -> None:
    project = _toml(BASIC / "pyproject.toml")["project"]
    requirements = {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}
    assert {n: str(r.specifier) for n, r in requirements.items()} == {n: f"=={v}" for n, v in TOP_LEVEL.items()}
    assert requirements["requests"].extras == {"socks"}
    assert requirements["numpy"].marker is None
    assert project["requires-python"] == ">=3.10"
    assert _toml(BASIC / "pyproject.toml")["build-system"]["build-backend"] == "hatchling.build"


def test_uv_lock_root_matches_the_project() -> None:
    data = _toml(BASIC / "uv.lock")
    root = next(p for p in data["package"] if p["name"] == "basic-fixture")
    assert root["source"] == {"editable": "."}
    assert {d["name"] for d in root["dependencies"]} == set(TOP_LEVEL)
    assert next(d for d in root["dependencies"] if d["name"] == "requests")["extra"] == ["socks"]
    pinned_transitively = {c["name"] for c in data["manifest"]["constraints"]}
    assert pinned_transitively == set(PINNED) - set(TOP_LEVEL) - {"pydantic-core"}


def test_poetry_and_pipenv_inputs_name_the_same_pins() -> None:
    poetry = _toml(BASIC / "poetry" / "pyproject.toml")
    poetry_pins = {canonicalize_name(r.name): str(r.specifier) for r in map(Requirement, poetry["project"]["dependencies"])}
    pipfile = _toml(BASIC / "Pipfile")["packages"]
    pipfile_pins = {canonicalize_name(n): (v if isinstance(v, str) else v["version"]) for n, v in pipfile.items()}
    expected = {n: f"=={v}" for n, v in PINNED.items() if n != "pydantic-core"}
    assert poetry_pins == expected
    assert pipfile_pins == expected
    assert poetry["tool"]["poetry"]["source"][0]["url"] == "https://pypi.org/simple/"


def test_basic_poetry_lock_is_the_variant_lock() -> None:
    assert (BASIC / "poetry.lock").read_bytes() == (BASIC / "poetry" / "poetry.lock").read_bytes()


def test_which_formats_carry_urls_and_sizes() -> None:
    """The readers and the fetcher rely on these differences between the formats."""
    uv = _toml(BASIC / "uv.lock")["package"]
    uv_files = [f for p in uv if "registry" in p["source"] for f in (*p.get("wheels", ()), p.get("sdist"))]
    assert all(f["url"].startswith("https://files.pythonhosted.org/") and f["size"] > 0 for f in uv_files if f)
    pylock_files = [w for p in _toml(BASIC / "pylock.toml")["packages"] for w in p.get("wheels", ())]
    assert pylock_files and all(w["url"].startswith("https://") and w["size"] > 0 for w in pylock_files)
    for name in ("poetry.lock", "pdm.lock"):
        files = [f for p in _toml(BASIC / name)["package"] for f in p["files"]]
        assert files and all(set(f) == {"file", "hash"} for f in files), name
    static = [f for p in _toml(BASIC / "pdm-static-urls/pdm.lock")["package"] for f in p["files"]]
    assert static and all(set(f) == {"url", "hash"} for f in static)
    assert "http" not in (BASIC / "Pipfile.lock").read_text().replace("https://pypi.org/simple", "")
    assert "https://" not in (BASIC / "requirements.txt").read_text()


def test_indexes_are_pypi_only() -> None:
    text = "\n".join((BASIC / name).read_text() for name in READERS)
    assert "/opt/" not in text and "file://" not in text
    assert set(re.findall(r'registry = "([^"]+)"', (BASIC / "uv.lock").read_text())) == {"https://pypi.org/simple"}
    meta = json.loads((BASIC / "Pipfile.lock").read_text())["_meta"]
    assert [s["url"] for s in meta["sources"]] == ["https://pypi.org/simple"]


def test_numpy_has_the_wheels_the_target_tests_need() -> None:
    numpy = next(p for p in _toml(BASIC / "uv.lock")["package"] if p["name"] == "numpy")
    names = {w["url"].rsplit("/", 1)[1] for w in numpy["wheels"]}
    for python in ("cp310", "cp311", "cp312", "cp313"):
        for platform in ("manylinux_2_17_x86_64", "manylinux_2_17_aarch64", "musllinux_1_2_x86_64", "musllinux_1_2_aarch64"):
            assert any(n.startswith(f"numpy-2.2.6-{python}-{python}-") and platform in n for n in names), (python, platform)
    assert not any("cp314" in n for n in names), "numpy 2.2.6 is expected to have no 3.14 wheel (sdist only)"


def test_requirements_txt_is_universal_and_fully_hashed() -> None:
    text = (BASIC / "requirements.txt").read_text()
    assert text.splitlines()[1].strip() == "#    bash tests/fixtures/locks/regenerate.sh basic"
    entries = _read_requirements(BASIC / "requirements.txt")
    assert all(hashes for _, _, hashes in entries.values())
    assert "basic-fixture" not in entries and "-e " not in text


# --- uv-sources/ -----------------------------------------------------------------------


def _uv_sources_packages() -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in _toml(UV_SOURCES / "uv.lock")["package"]}


def test_uv_sources_has_every_source_kind() -> None:
    packages = _uv_sources_packages()
    kinds = {name: next(iter(p["source"])) for name, p in packages.items()}
    assert kinds == {
        "uv-sources-fixture": "virtual",
        "alpha": "editable",
        "beta": "editable",
        "editable-pkg": "editable",
        "local-dir-pkg": "directory",
        "wheel-file-pkg": "path",
        "gitdep": "git",
        "gitsub": "git",
        "six": "url",
        "idna": "registry",
        "click": "registry",
        "iniconfig": "registry",
    }
    assert _toml(UV_SOURCES / "uv.lock")["manifest"]["members"] == ["alpha", "beta", "uv-sources-fixture"]


def test_uv_sources_local_paths_exist_and_match() -> None:
    for name, package in _uv_sources_packages().items():
        kind, where = next(iter(package["source"].items()))
        if kind in ("editable", "directory", "virtual"):
            assert _toml(UV_SOURCES / where / "pyproject.toml")["project"]["name"] == name
        elif kind == "path":
            wheel = UV_SOURCES / where
            (locked,) = package["wheels"]
            assert locked["filename"] == wheel.name
            assert locked["hash"] == "sha256:" + hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_uv_sources_git_and_url_sources() -> None:
    packages = _uv_sources_packages()
    tag = packages["gitdep"]["source"]["git"]
    branch = packages["gitsub"]["source"]["git"]
    assert re.fullmatch(r"file:///tmp/layerplan-fixture-git/gitdep\?tag=v0\.1\.0#[0-9a-f]{40}", tag)
    assert re.fullmatch(r"file:///tmp/layerplan-fixture-git/gitdep\?subdirectory=sub%2Fgitsub&branch=main#[0-9a-f]{40}", branch)
    assert tag.rsplit("#", 1)[1] == branch.rsplit("#", 1)[1]
    (wheel,) = packages["six"]["wheels"]
    assert wheel["url"] == packages["six"]["source"]["url"]
    assert wheel["url"].startswith("https://files.pythonhosted.org/") and wheel["hash"].startswith("sha256:")


def test_uv_sources_graph_edges() -> None:
    packages = _uv_sources_packages()
    root = packages["uv-sources-fixture"]
    assert {d["name"] for d in root["dependencies"]} == {
        "alpha", "editable-pkg", "gitdep", "gitsub", "local-dir-pkg", "six", "wheel-file-pkg",
    }  # fmt: skip
    assert [d["name"] for d in root["optional-dependencies"]["cli"]] == ["click"]
    assert [d["name"] for d in root["dev-dependencies"]["dev"]] == ["iniconfig"]
    assert [d["name"] for d in packages["alpha"]["dependencies"]] == ["beta"]
    assert [d["name"] for d in packages["beta"]["dependencies"]] == ["idna"]


# --- example-project/ ------------------------------------------------------------------


def test_example_project_is_an_app_with_a_local_member() -> None:
    data = _toml(EXAMPLE / "pyproject.toml")
    project = data["project"]
    assert project["requires-python"] == ">=3.11"
    assert data["build-system"]["build-backend"] == "hatchling.build"
    assert data["tool"]["layerplan"] == {"python": "3.11", "platform": "linux/amd64"}
    module, function = project["scripts"]["layerplan-example"].split(":")
    source = EXAMPLE / "src" / Path(*module.split(".")).with_suffix(".py")
    assert f"def {function}(" in source.read_text()
    assert {canonicalize_name(Requirement(r).name) for r in project["dependencies"]} == {
        "numpy", "pydantic", "click", "humanize", "greeting",
    }  # fmt: skip
    assert (EXAMPLE / "packages" / "greeting" / "src" / "greeting" / "__init__.py").is_file()


def test_example_project_reads_with_layerplan() -> None:
    from layerplan.project import read_project

    project = read_project(EXAMPLE)
    assert project.name == "layerplan-example"
    assert project.scripts == {"layerplan-example": "layerplan_example.cli:main"}
    assert [(m.name, m.path.as_posix()) for m in project.workspace_members] == [("greeting", "packages/greeting")]


def test_example_lock_has_a_big_numpy_wheel_for_the_target() -> None:
    lock = _toml(EXAMPLE / "uv.lock")
    packages = lock["package"]
    sources = {p["name"]: p["source"] for p in packages}
    assert sources["layerplan-example"] == {"editable": "."}
    assert sources["greeting"] == {"editable": "packages/greeting"}
    assert lock["manifest"]["members"] == ["greeting", "layerplan-example"]
    # A forked lock: one numpy per Python range. The one for 3.11 must have a big cp311 wheel.
    numpys = [p for p in packages if p["name"] == "numpy"]
    for_311 = [p for p in numpys if all(Marker(m).evaluate(LINUX_311) for m in p.get("resolution-markers", []))]
    assert len(numpys) == 2 and len(for_311) == 1
    wheel = next(w for w in for_311[0]["wheels"] if re.search(r"-cp311-cp311-manylinux.*x86_64\.whl$", w["url"]))
    assert wheel["size"] > 10_000_000
    core = next(p for p in packages if p["name"] == "pydantic-core")
    assert any(re.search(r"-cp311-cp311-manylinux.*x86_64\.whl$", w["url"]) for w in core["wheels"])
