"""The Pipfile.lock reader, on locks written by the real pipenv (see regen.sh)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker

from layerplan.errors import LockfileError
from layerplan.lockfiles import Lock, LockedPackage, find_lock
from layerplan.lockfiles import pipfile as pipfile_module
from layerplan.lockfiles.pipfile import read_pipfile_lock

LOCKS = Path(__file__).parent.parent / "fixtures" / "locks"
HERE = LOCKS / "pipfile-reader"
LOCK = HERE / "Pipfile.lock"
BASIC = LOCKS / "basic" / "Pipfile.lock"
PYPI = "https://pypi.org/simple"


@pytest.fixture(scope="module")
def lock() -> Lock:
    return read_pipfile_lock(LOCK)


def one(lock: Lock, name: str) -> LockedPackage:
    (package,) = [p for p in lock.packages if p.name == name]
    return package


def in_group(lock: Lock, group: str) -> set[str]:
    return {p.name for p in lock.packages if group in p.groups}


def test_registered_after_pdm() -> None:
    (fmt,) = pipfile_module.layerplan_lock_formats()
    assert (fmt.name, fmt.priority, fmt.filenames) == ("pipfile", 50, ("Pipfile.lock",))
    path, chosen = find_lock(HERE, [fmt])
    assert (path, chosen.read) == (LOCK, read_pipfile_lock)


def test_flat_with_default_and_develop_groups(lock: Lock) -> None:
    assert lock.format == "pipfile" and not lock.graph
    assert lock.default_groups == ("default",)
    assert lock.indexes == (PYPI,)
    assert lock.requires_python is None  # [requires] python_version is a wish, not a range
    assert in_group(lock, "develop") == {"attrs", "iniconfig", "packaging", "pluggy", "pygments", "pytest"}
    assert "pytest" not in in_group(lock, "default")
    assert len(in_group(lock, "default")) == 13


def test_the_same_pin_in_both_sections_is_one_package(lock: Lock) -> None:
    attrs = one(lock, "attrs")
    assert attrs.groups == ("default", "develop")
    assert attrs.version == "26.1.0" and attrs.marker == Marker("python_version >= '3.9'")


def test_hashes_only_no_files(lock: Lock) -> None:
    requests = one(lock, "requests")
    assert requests.version == "2.34.2" and requests.wheels == () and requests.sdist is None
    assert requests.hashes == (
        "sha256:2a0d60c172f83ac6ab31e4554906c0f3b3588d37b5cb939b1c061f4907e278e0",
        "sha256:f288924cae4e29463698d6d60bc6a4da69c89185ad1e0bcc4104f584e960b9ed",
    )
    assert len(one(lock, "charset-normalizer").hashes) == 172
    assert all(list(p.hashes) == sorted(p.hashes) for p in lock.packages)


def test_index_names_become_urls(lock: Lock) -> None:
    assert one(lock, "pyyaml").index == PYPI  # "index": "pypi"
    assert one(lock, "idna").index is None  # no index named: the first of Lock.indexes


def test_packages_not_locked_where_pipenv_ran_stay_unpinned(lock: Lock) -> None:
    # pipenv ran on Linux / 3.11, where these markers are false: "version": "*", no hashes
    colorama, tomli = one(lock, "colorama"), one(lock, "tomli")
    assert (colorama.version, colorama.hashes, str(colorama.marker)) == (None, (), 'sys_platform == "win32"')
    assert (tomli.version, tomli.hashes) == (None, ())
    assert colorama.source.kind == "registry"


def test_editable_path(lock: Lock) -> None:
    helper = one(lock, "helper")
    assert (helper.source.kind, helper.source.path, helper.version) == ("editable", "./libs/helper", None)
    assert helper.marker is None and helper.hashes == ()


def test_lines_point_at_entries(lock: Lock) -> None:
    lines = LOCK.read_text().splitlines()
    for package in lock.packages:
        assert package.line is not None
        assert lines[package.line - 1].strip().startswith('"'), package.name
    assert lines[one(lock, "pytest").line - 1].strip() == '"pytest": {'  # type: ignore[operator]


def test_basic_fixture() -> None:
    basic = read_pipfile_lock(BASIC)
    assert len(basic.packages) == 14 and basic.indexes == (PYPI,)
    numpy = one(basic, "numpy")
    assert numpy.version == "2.2.6" and len(numpy.hashes) == 55
    tomli = one(basic, "tomli")
    assert (tomli.version, str(tomli.marker)) == ("2.2.1", 'python_version < "3.11"')
    assert {p.groups for p in basic.packages} == {("default",)}


def edited(tmp_path: Path, change: Any) -> Path:
    data = json.loads(LOCK.read_text())
    change(data)
    path = tmp_path / "Pipfile.lock"
    path.write_text(json.dumps(data, indent=4, sort_keys=True) + "\n")
    return path


def test_several_sources_and_other_entry_kinds(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["_meta"]["sources"].append({"name": "internal", "url": "https://pypi.example.invalid/simple/"})
        data["default"]["attrs"]["index"] = "internal"
        data["default"]["gitdep"] = {"git": "https://example.invalid/gitdep.git", "ref": "0123abcd" * 5}
        data["default"]["wheelfile"] = {"file": "https://example.invalid/wheelfile-1.0-py3-none-any.whl"}
        data["default"]["localwheel"] = {"path": "./dist/localwheel-1.0-py3-none-any.whl"}

    lock = read_pipfile_lock(edited(tmp_path, change))
    assert lock.indexes == (PYPI, "https://pypi.example.invalid/simple/")
    # the two sections now pin attrs from different indexes: two entries, one per group
    attrs = {p.groups: p.index for p in lock.packages if p.name == "attrs"}
    assert attrs == {("default",): "https://pypi.example.invalid/simple/", ("develop",): PYPI}
    git = one(lock, "gitdep").source
    assert (git.kind, git.url, git.reference) == ("git", "https://example.invalid/gitdep.git", "0123abcd" * 5)
    assert one(lock, "wheelfile").source.kind == "url"
    assert (one(lock, "localwheel").source.kind, one(lock, "localwheel").source.path) == (
        "path",
        "./dist/localwheel-1.0-py3-none-any.whl",
    )


# --- bad input: every error names the file and the line -----------------------------


def at(path: Path, needle: str, start: int = 1) -> str:
    lines = path.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if n >= start and needle in text)
    return f"{path}:{line}"


def starts_at(error: pytest.ExceptionInfo[LockfileError], where: str) -> bool:
    return str(error.value).startswith((where + ":", where + " `"))


def test_malformed_json(tmp_path: Path) -> None:
    path = tmp_path / "Pipfile.lock"
    path.write_text(LOCK.read_text().replace('"version": "==26.1.0"', '"version": "==26.1.0",', 1))
    with pytest.raises(LockfileError, match="invalid JSON") as caught:
        read_pipfile_lock(path)
    # json reports the token after the stray comma: the closing brace on the next line
    assert starts_at(caught, f"{path}:{int(at(path, '==26.1.0').rsplit(':', 1)[1]) + 1}")


def test_unsupported_pipfile_spec(tmp_path: Path) -> None:
    path = edited(tmp_path, lambda d: d["_meta"].update({"pipfile-spec": 5}))
    with pytest.raises(LockfileError, match="pipfile-spec 5 is not supported") as caught:
        read_pipfile_lock(path)
    assert starts_at(caught, at(path, '"pipfile-spec"'))
    assert "pipenv lock" in str(caught.value)


def test_unknown_index_name(tmp_path: Path) -> None:
    path = edited(tmp_path, lambda d: d["default"]["pyyaml"].update({"index": "mirror"}))
    with pytest.raises(LockfileError, match="index 'mirror' is not among `_meta.sources` \\(pypi\\)") as caught:
        read_pipfile_lock(path)
    assert starts_at(caught, at(path, '"index": "mirror"'))


def test_invalid_marker(tmp_path: Path) -> None:
    path = edited(tmp_path, lambda d: d["develop"]["pytest"].update({"markers": "python_version >= '3.10' and"}))
    with pytest.raises(LockfileError, match="invalid marker") as caught:
        read_pipfile_lock(path)
    assert starts_at(caught, at(path, "'3.10' and\""))
    assert "`develop.pytest.markers`" in str(caught.value)


def test_version_that_is_not_a_pin(tmp_path: Path) -> None:
    path = edited(tmp_path, lambda d: d["default"]["idna"].update({"version": ">=3"}))
    with pytest.raises(LockfileError, match="is not a pin") as caught:
        read_pipfile_lock(path)
    assert starts_at(caught, at(path, '"version": ">=3"'))


def test_bad_hash(tmp_path: Path) -> None:
    path = edited(tmp_path, lambda d: d["default"]["six"].update({"hashes": ["sha256:xyz"]}))
    with pytest.raises(LockfileError, match="invalid hash") as caught:
        read_pipfile_lock(path)
    assert starts_at(caught, at(path, '"six": {'))


def test_not_a_pipfile_lock(tmp_path: Path) -> None:
    path = tmp_path / "Pipfile.lock"
    path.write_text("[1, 2]\n")
    with pytest.raises(LockfileError, match="expected a JSON object") as caught:
        read_pipfile_lock(path)
    assert starts_at(caught, f"{path}:1")


def test_the_project_itself_is_the_root_package(tmp_path: Path) -> None:
    path = edited(tmp_path, lambda d: d["default"].update({"demo-app": {"editable": True, "path": "."}}))
    assert read_pipfile_lock(path).root_package == "demo-app"
    assert read_pipfile_lock(LOCK).root_package is None
