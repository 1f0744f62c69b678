"""The pdm.lock reader, on locks written by the real PDM 2.29 (see regen.sh)."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from layerplan.errors import LockfileError
from layerplan.lockfiles import Lock, LockedPackage, find_lock
from layerplan.lockfiles import pdm as pdm_module
from layerplan.lockfiles._common import pick_version
from layerplan.lockfiles.pdm import read_pdm_lock

LOCKS = Path(__file__).parent.parent / "fixtures" / "locks"
HERE = LOCKS / "pdm-reader"
LOCK = HERE / "pdm.lock"
STATIC = HERE / "static-urls" / "pdm.lock"
BASIC = LOCKS / "basic"
LINUX = {"sys_platform": "linux", "platform_system": "Linux"}


@pytest.fixture(scope="module")
def lock() -> Lock:
    return read_pdm_lock(LOCK)


@pytest.fixture(scope="module")
def static() -> Lock:
    return read_pdm_lock(STATIC)


def by_name(lock: Lock, name: str) -> list[LockedPackage]:
    return [p for p in lock.packages if p.name == name]


def one(lock: Lock, name: str) -> LockedPackage:
    (package,) = by_name(lock, name)
    return package


def installed(lock: Lock, python: str, groups: tuple[str, ...] = ("default",)) -> dict[str, str | None]:
    """The flat selection the module docstring promises: groups meet, marker holds."""
    env = {"python_version": python, "python_full_version": f"{python}.0", **LINUX}
    env |= {"extras": frozenset(), "dependency_groups": frozenset(groups)}  # type: ignore[dict-item]
    return {
        p.name: p.version
        for p in lock.packages
        if set(p.groups) & set(groups) and (p.marker is None or p.marker.evaluate(env, "lock_file"))
    }


def test_registered_after_poetry() -> None:
    (fmt,) = pdm_module.layerplan_lock_formats()
    assert (fmt.name, fmt.priority, fmt.filenames) == ("pdm", 40, ("pdm.lock",))
    path, chosen = find_lock(HERE, [fmt])
    assert (path, chosen.read) == (HERE / "pdm.lock", read_pdm_lock)


def test_inherit_metadata_lock_is_flat(lock: Lock) -> None:
    assert lock.format == "pdm" and not lock.graph and lock.roots is None
    assert lock.default_groups == ("default",)
    # two targets (>=3.10 and ==3.9.*): no single range
    assert lock.requires_python is None
    assert lock.indexes == ()
    assert all(p.groups for p in lock.packages)


def test_targets_give_two_versions_told_apart_by_marker(lock: Lock) -> None:
    assert [p.version for p in by_name(lock, "click")] == ["8.5.1", "8.1.8"]
    assert by_name(lock, "click")[1].marker == Marker('python_version == "3.9"')
    assert installed(lock, "3.9")["click"] == "8.1.8"
    assert installed(lock, "3.12")["click"] == "8.5.1"
    assert installed(lock, "3.9")["urllib3"] == "2.6.3"
    assert "tomli" in installed(lock, "3.10") and "tomli" not in installed(lock, "3.11")


def test_groups_keep_dev_and_extras_apart(lock: Lock) -> None:
    plain = installed(lock, "3.12")
    assert sorted(plain) == [
        "attrs", "certifi", "charset-normalizer", "click", "helper",
        "idna", "pysocks", "requests", "six", "urllib3",
    ]  # fmt: skip
    assert one(lock, "pygments").groups == ("dev",)
    assert installed(lock, "3.12", ("default", "dev"))["pytest"] == "9.2.0"
    # PDM files the project's extras as groups of the same name
    assert {p.groups for p in by_name(lock, "pyyaml")} == {("yaml",)}
    assert installed(lock, "3.12", ("default", "yaml"))["pyyaml"] == "6.0.4"
    assert one(lock, "colorama").groups == ("default", "dev")


def test_extra_entries_fold_into_their_base_package(lock: Lock) -> None:
    # pdm writes requests twice per version (plain and [socks]); one package each remains
    old, new = sorted(by_name(lock, "requests"), key=lambda p: p.version or "")
    assert (old.version, new.version) == ("2.32.5", "2.34.2")
    (socks,) = new.optional_dependencies["socks"]
    assert socks.name == "pysocks" and socks.version is None
    assert [d.name for d in new.dependencies] == ["certifi", "charset-normalizer", "idna", "urllib3"]
    assert new.line is not None and LOCK.read_text().splitlines()[new.line] == 'name = "requests"'


def test_files_and_sources(lock: Lock) -> None:
    attrs = one(lock, "attrs")
    assert [w.filename for w in attrs.wheels] == ["attrs-26.1.0-py3-none-any.whl"]
    assert attrs.wheels[0].url is None
    assert attrs.wheels[0].hashes == ("sha256:c647aa4a12dfbad9333ca4e71fe62ddc36f4e63b2d260a37a8b83d2f043ac309",)
    assert attrs.source.kind == "registry" and attrs.source.url is None
    helper = one(lock, "helper")
    assert (helper.source.kind, helper.source.path, helper.version) == ("directory", "./libs/helper", "0.3.0")
    assert [d.name for d in helper.dependencies] == ["six"] and helper.wheels == ()


def test_dependency_markers_are_parsed(lock: Lock) -> None:
    pytest_9 = by_name(lock, "pytest")[0]
    deps = {d.name: d for d in pytest_9.dependencies}
    assert deps["exceptiongroup"].marker == Marker('python_version < "3.11"')
    assert deps["pluggy"].marker is None and deps["pluggy"].extras == ()
    # iniconfig>=2 fits both locked iniconfig versions: the markers choose, not the edge
    assert deps["iniconfig"].version is None


def test_an_edge_names_the_version_when_its_specifier_singles_one_out() -> None:
    assert pick_version(["8.5.1", "8.1.8"], SpecifierSet("<8.2")) == "8.1.8"
    assert pick_version(["8.5.1", "8.1.8"], SpecifierSet(">=8")) is None
    assert pick_version(["8.5.1"], SpecifierSet("<8.2")) is None  # one candidate: the name is enough


def test_static_urls_without_inherit_metadata_is_a_graph(static: Lock) -> None:
    assert static.graph and static.roots is None and static.default_groups == ()
    assert static.requires_python == ">=3.9"
    assert all(p.groups == () and p.marker is None for p in static.packages)
    attrs = one(static, "attrs")
    assert attrs.wheels[0].url == (
        "https://files.pythonhosted.org/packages/64/b4/17d4b0b2a2dc85a6df63d1157e028ed19f90d4cd97c36717afef2bc2f395/"
        "attrs-26.1.0-py3-none-any.whl"
    )
    assert attrs.wheels[0].filename == "attrs-26.1.0-py3-none-any.whl"
    assert attrs.sdist is not None and attrs.sdist.url is not None and attrs.sdist.url.endswith("attrs-26.1.0.tar.gz")
    requests = one(static, "requests")
    assert [d.name for d in requests.optional_dependencies["socks"]] == ["pysocks"]


@pytest.mark.parametrize("name", ["pdm.lock", "pdm-static-urls/pdm.lock"])
def test_basic_fixture(name: str) -> None:
    basic = read_pdm_lock(BASIC / name)
    assert not basic.graph and basic.requires_python == ">=3.10" and len(basic.packages) == 14
    numpy = one(basic, "numpy")
    assert numpy.version == "2.2.6" and len(numpy.wheels) == 54
    assert all((w.url is not None) == ("static" in name) for w in numpy.wheels)
    assert str(one(basic, "tomli").marker) == 'python_version < "3.11"'
    assert [d.name for d in one(basic, "requests").optional_dependencies["socks"]] == ["pysocks"]


# --- bad input: every error names the file and the line -----------------------------


def broken(tmp_path: Path, old: str, new: str, source: Path = LOCK) -> Path:
    text = source.read_text()
    assert old in text
    path = tmp_path / "pdm.lock"
    path.write_text(text.replace(old, new, 1))
    return path


def at(path: Path, needle: str) -> str:
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if needle in text)
    return f"{path}:{line}"


def starts_at(error: pytest.ExceptionInfo[LockfileError], where: str) -> bool:
    return str(error.value).startswith((where + ":", where + " `"))


def test_malformed_toml(tmp_path: Path) -> None:
    path = broken(tmp_path, 'groups = ["default"]', 'groups = ["default"')
    with pytest.raises(LockfileError, match="invalid TOML") as caught:
        read_pdm_lock(path)
    # tomllib reports where it gave up: the line after the unclosed array
    open_line = path.read_text().splitlines().index('groups = ["default"') + 1
    assert starts_at(caught, f"{path}:{open_line + 1}")


def at_line(path: Path, needle: str) -> int:
    return int(at(path, needle).rsplit(":", 1)[1])


@pytest.mark.parametrize("version", ["3.1", "5.0.0"])
def test_unsupported_lock_version(tmp_path: Path, version: str) -> None:
    path = broken(tmp_path, 'lock_version = "4.5.1"', f'lock_version = "{version}"')
    with pytest.raises(LockfileError, match=f"lock_version {version} is not supported") as caught:
        read_pdm_lock(path)
    assert starts_at(caught, at(path, "lock_version"))


def test_invalid_package_marker(tmp_path: Path) -> None:
    path = broken(tmp_path, 'marker = "python_version >= \\"3.10\\""', 'marker = "python_version >> \\"3.10\\""')
    with pytest.raises(LockfileError, match="invalid marker") as caught:
        read_pdm_lock(path)
    assert starts_at(caught, at(path, "python_version >>"))


def test_invalid_dependency(tmp_path: Path) -> None:
    path = broken(tmp_path, '"six>=1.16",', '"six>=>1.16",')
    with pytest.raises(LockfileError, match="invalid requirement") as caught:
        read_pdm_lock(path)
    assert starts_at(caught, at(path, "six>=>1.16"))
    assert "`package.helper.dependencies`" in str(caught.value)


def test_missing_name(tmp_path: Path) -> None:
    path = broken(tmp_path, 'name = "idna"\n', "")
    with pytest.raises(LockfileError, match="missing `name`") as caught:
        read_pdm_lock(path)
    version_line = at_line(path, 'version = "3.20"')
    assert starts_at(caught, f"{path}:{version_line - 1}")


def test_missing_groups_with_inherit_metadata(tmp_path: Path) -> None:
    path = broken(tmp_path, 'summary = "Classes Without Boilerplate"\ngroups = ["default"]\n', "")
    with pytest.raises(LockfileError, match="missing `groups`") as caught:
        read_pdm_lock(path)
    name_line = at_line(path, 'name = "attrs"')
    assert starts_at(caught, f"{path}:{name_line - 1}")


def test_bad_hash(tmp_path: Path) -> None:
    path = broken(tmp_path, "sha256:c647aa4a12dfbad", "sha256:c647aa4a12dfba")
    with pytest.raises(LockfileError, match="sha256 digest of wrong length") as caught:
        read_pdm_lock(path)
    assert starts_at(caught, at(path, "sha256:c647aa4a12dfba"))
