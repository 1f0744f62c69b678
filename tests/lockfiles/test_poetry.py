"""The poetry.lock reader, on locks written by the real Poetry 2.5 and 1.8 (see regen.sh)."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from layerplan.errors import LockfileError
from layerplan.lockfiles import Lock, LockedPackage, find_lock
from layerplan.lockfiles import poetry as poetry_module
from layerplan.project.poetry_constraint import poetry_constraint
from layerplan.lockfiles.poetry import read_poetry_lock

LOCKS = Path(__file__).parent.parent / "fixtures" / "locks"
HERE = LOCKS / "poetry-reader"
LOCK = HERE / "poetry.lock"
LEGACY = HERE / "legacy" / "poetry.lock"
BASIC = LOCKS / "basic" / "poetry.lock"
LINUX = {"sys_platform": "linux", "platform_system": "Linux"}
WINDOWS = {"sys_platform": "win32", "platform_system": "Windows"}


@pytest.fixture(scope="module")
def lock() -> Lock:
    return read_poetry_lock(LOCK)


@pytest.fixture(scope="module")
def legacy() -> Lock:
    return read_poetry_lock(LEGACY)


def by_name(lock: Lock, name: str) -> list[LockedPackage]:
    return [p for p in lock.packages if p.name == name]


def one(lock: Lock, name: str) -> LockedPackage:
    (package,) = by_name(lock, name)
    return package


def holds(package: LockedPackage, python: str, *, groups=("main",), extras=(), platform=LINUX) -> bool:
    """The flat-lock selection rule the module docstring promises."""
    if not set(package.groups) & set(groups):
        return False
    env = {"python_version": python, "python_full_version": f"{python}.0", **platform}
    env |= {"extras": frozenset(extras), "dependency_groups": frozenset(groups)}
    return package.marker is None or package.marker.evaluate(env, "lock_file")


def installed(lock: Lock, python: str, **kwargs: object) -> dict[str, str | None]:
    return {p.name: p.version for p in lock.packages if holds(p, python, **kwargs)}  # type: ignore[arg-type]


def test_registered_after_uv_and_pylock() -> None:
    (fmt,) = poetry_module.layerplan_lock_formats()
    assert (fmt.name, fmt.priority, fmt.filenames) == ("poetry", 30, ("poetry.lock",))
    path, chosen = find_lock(HERE, [fmt])
    assert (path.name, chosen.read) == ("poetry.lock", read_poetry_lock)


def test_poetry2_lock_is_flat(lock: Lock) -> None:
    assert lock.format == "poetry" and not lock.graph and lock.roots is None
    assert lock.default_groups == ("main",)
    assert lock.requires_python == ">=3.9"
    assert lock.indexes == ("https://pypi.org/simple",)
    assert len(lock.packages) == 28
    assert all(p.groups for p in lock.packages)


def test_forked_versions_are_told_apart_by_marker(lock: Lock) -> None:
    assert [p.version for p in by_name(lock, "click")] == ["8.1.8", "8.5.1"]
    assert installed(lock, "3.9")["click"] == "8.1.8"
    assert installed(lock, "3.12")["click"] == "8.5.1"
    assert installed(lock, "3.9")["requests"] == "2.32.5"
    assert installed(lock, "3.13")["urllib3"] == "2.8.0"


def test_plain_install_set_per_python(lock: Lock) -> None:
    on_312 = installed(lock, "3.12")
    assert sorted(on_312) == [
        "attrs", "certifi", "charset-normalizer", "click", "helper",
        "idna", "pysocks", "requests", "six", "urllib3",
    ]  # fmt: skip
    # tomli only below 3.11, colorama only on Windows, pytest only with the dev group
    assert "tomli" in installed(lock, "3.10") and "tomli" not in on_312
    assert "colorama" in installed(lock, "3.12", platform=WINDOWS)


def test_dev_group_is_separate(lock: Lock) -> None:
    assert one(lock, "pygments").groups == ("dev",)
    assert "pytest" not in installed(lock, "3.12")
    with_dev = installed(lock, "3.12", groups=("main", "dev"))
    assert with_dev["pytest"] == "9.2.0" and with_dev["pluggy"] == "1.7.0"
    assert installed(lock, "3.9", groups=("main", "dev"))["pytest"] == "8.4.2"


def test_per_group_markers_stay_exact(lock: Lock) -> None:
    colorama = one(lock, "colorama")
    assert colorama.groups == ("main", "dev")
    # main needs it on 3.9 + Windows (click's edge) or win32 (the project's own edge);
    # dev on win32 only. The folded marker keeps the two apart.
    assert '"dev" in dependency_groups' in str(colorama.marker)
    assert holds(colorama, "3.9", platform={"sys_platform": "cygwin", "platform_system": "Windows"})
    assert not holds(
        colorama, "3.9", groups=("dev",), platform={"sys_platform": "cygwin", "platform_system": "Windows"}
    )
    assert holds(colorama, "3.12", groups=("dev",), platform=WINDOWS)
    assert not holds(colorama, "3.12", groups=("main", "dev"))


def test_extra_markers_use_the_extras_set(lock: Lock) -> None:
    old, new = by_name(lock, "pyyaml")
    assert (old.optional_dependencies, old.groups) == ({}, ("main",))
    assert str(new.marker) == 'python_version >= "3.10" and "yaml" in extras'
    assert "pyyaml" not in installed(lock, "3.12")
    assert installed(lock, "3.12", extras=("yaml",))["pyyaml"] == "6.0.4"
    assert installed(lock, "3.9", extras=("yaml",))["pyyaml"] == "6.0.3"


def test_files_have_names_and_hashes_but_no_urls(lock: Lock) -> None:
    attrs = one(lock, "attrs")
    assert [w.filename for w in attrs.wheels] == ["attrs-26.1.0-py3-none-any.whl"]
    assert attrs.wheels[0].hashes == ("sha256:c647aa4a12dfbad9333ca4e71fe62ddc36f4e63b2d260a37a8b83d2f043ac309",)
    assert attrs.wheels[0].url is None and attrs.sdist is not None and attrs.sdist.filename == "attrs-26.1.0.tar.gz"
    assert attrs.source.kind == "registry" and attrs.index == "https://pypi.org/simple"
    assert attrs.hashes == ()  # the files carry them
    charset = one(lock, "charset-normalizer")
    assert len(charset.wheels) == 171 and all(w.kind == "wheel" for w in charset.wheels)
    assert all(h.startswith("sha256:") and len(h) == 71 for w in charset.wheels for h in w.hashes)


def test_sources(lock: Lock) -> None:
    helper = one(lock, "helper")
    assert (helper.source.kind, helper.source.path, helper.version) == ("editable", "libs/helper", "0.3.0")
    assert helper.source.is_local and helper.index is None
    six = one(lock, "six")
    assert six.source.kind == "url" and six.source.url is not None
    assert six.source.url.endswith("/six-1.17.0-py2.py3-none-any.whl")
    (wheel,) = six.wheels
    assert wheel.url == six.source.url and wheel.hashes[0].startswith("sha256:4721f391")


def test_dependencies_and_extras(lock: Lock) -> None:
    requests = by_name(lock, "requests")[1]
    names = [d.name for d in requests.dependencies]
    # optional PySocks is reached only through the socks extra
    assert names == ["certifi", "charset-normalizer", "idna", "urllib3"]
    assert [d.name for d in requests.optional_dependencies["socks"]] == ["pysocks"]
    click = by_name(lock, "click")[0]
    (colorama,) = click.dependencies
    assert colorama.marker == Marker('platform_system == "Windows"')
    assert one(lock, "helper").dependencies[0].name == "six"


def test_lines_point_at_the_package_headers(lock: Lock) -> None:
    lines = LOCK.read_text().splitlines()
    for package in lock.packages:
        assert package.line is not None and lines[package.line - 1] == "[[package]]"
        assert lines[package.line] == f'name = "{package.name}"'


def test_poetry1_lock_is_a_graph(legacy: Lock) -> None:
    assert legacy.graph and legacy.roots is None and legacy.default_groups == ()
    assert legacy.requires_python == "<4,>=3.9"  # "^3.9" in Poetry's syntax
    assert all(p.groups == () and p.marker is None for p in legacy.packages)
    assert [p.version for p in by_name(legacy, "click")] == ["8.1.8", "8.5.1"]
    requests = one(legacy, "requests")
    assert [d.name for d in requests.optional_dependencies["socks"]] == ["pysocks"]
    assert "pysocks" not in [d.name for d in requests.dependencies]
    assert one(legacy, "pytest").version == "8.4.2"


def test_basic_fixture() -> None:
    basic = read_poetry_lock(BASIC)
    assert basic.requires_python == ">=3.10" and len(basic.packages) == 14
    numpy = one(basic, "numpy")
    assert numpy.version == "2.2.6" and len(numpy.wheels) == 54 and numpy.marker is None
    assert any("musllinux_1_2_aarch64" in (w.filename or "") for w in numpy.wheels)
    assert str(one(basic, "tomli").marker) == 'python_version == "3.10"'
    assert str(one(basic, "colorama").marker) == 'sys_platform == "win32"'


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("^3.9", ["<4,>=3.9"]),
        ("^0.2.3", ["<0.3,>=0.2.3"]),
        ("^0.0.3", ["<0.0.4,>=0.0.3"]),
        ("~1.2.3", ["<1.3,>=1.2.3"]),
        ("~1", ["<2,>=1"]),
        ("*", [""]),
        (">=1.5.6,!=1.5.7", ["!=1.5.7,>=1.5.6"]),
        (">= 2.0 < 3.0", ["<3.0,>=2.0"]),
        ("1.2.*", ["==1.2.*"]),
        ("~2.7 || ^3.6", ["<2.8,>=2.7", "<4,>=3.6"]),
    ],
)
def test_poetry_constraints(constraint: str, expected: list[str]) -> None:
    result = poetry_constraint(constraint)
    assert result is not None and [str(s) for s in result] == expected
    assert all(isinstance(s, SpecifierSet) for s in result)


def test_unreadable_constraint_is_none() -> None:
    assert poetry_constraint(">=not a version") is None


# --- bad input: every error names the file and the line -----------------------------


def broken(tmp_path: Path, old: str, new: str, source: Path = LOCK) -> Path:
    text = source.read_text()
    assert old in text
    path = tmp_path / "poetry.lock"
    path.write_text(text.replace(old, new, 1))
    return path


def line_with(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def at(path: Path, needle: str, offset: int = 0) -> str:
    """``file:line`` of the first line holding ``needle``, as errors start."""
    return f"{path}:{line_with(path, needle) + offset}"


def starts_at(error: pytest.ExceptionInfo[LockfileError], where: str) -> bool:
    text = str(error.value)
    return text.startswith((where + ":", where + " `"))


def test_malformed_toml(tmp_path: Path) -> None:
    path = broken(tmp_path, 'name = "idna"', 'name = "idna')
    with pytest.raises(LockfileError, match="invalid TOML") as caught:
        read_poetry_lock(path)
    assert starts_at(caught, at(path, 'name = "idna'))


@pytest.mark.parametrize("version", ["1.1", "3.0"])
def test_unsupported_lock_version(tmp_path: Path, version: str) -> None:
    path = broken(tmp_path, 'lock-version = "2.1"', f'lock-version = "{version}"')
    with pytest.raises(LockfileError, match=f"lock-version {version} is not supported") as caught:
        read_poetry_lock(path)
    assert starts_at(caught, at(path, "lock-version"))
    assert "poetry lock" in str(caught.value)


def test_invalid_marker(tmp_path: Path) -> None:
    path = broken(tmp_path, 'markers = "python_version == \\"3.9\\""', 'markers = "python_version =! \\"3.9\\""')
    with pytest.raises(LockfileError, match="invalid marker") as caught:
        read_poetry_lock(path)
    assert starts_at(caught, at(path, "=!"))
    assert "`package.click.markers`" in str(caught.value)
    assert "\n" not in str(caught.value)  # packaging's caret diagram is left out


def test_invalid_dependency_marker(tmp_path: Path) -> None:
    path = broken(tmp_path, 'markers = "platform_system == \\"Windows\\""}', 'markers = "platform_system ="}')
    with pytest.raises(LockfileError, match="invalid marker") as caught:
        read_poetry_lock(path)
    assert starts_at(caught, at(path, "platform_system ="))


def test_missing_version(tmp_path: Path) -> None:
    path = broken(tmp_path, 'name = "idna"\nversion = "3.20"', 'name = "idna"')
    with pytest.raises(LockfileError, match="missing `version`") as caught:
        read_poetry_lock(path)
    assert starts_at(caught, at(path, 'name = "idna"', -1))


def test_missing_groups_in_a_2_1_lock(tmp_path: Path) -> None:
    path = broken(tmp_path, 'python-versions = ">=3.9"\ngroups = ["main"]\n', 'python-versions = ">=3.9"\n')
    with pytest.raises(LockfileError, match="missing `groups`") as caught:
        read_poetry_lock(path)
    assert starts_at(caught, f"{path}:3")  # attrs, the first package


def test_unsupported_source_type(tmp_path: Path) -> None:
    path = broken(tmp_path, 'type = "directory"', 'type = "hg"')
    with pytest.raises(LockfileError, match="source type 'hg' is not supported") as caught:
        read_poetry_lock(path)
    assert starts_at(caught, at(path, 'type = "hg"'))


def test_bad_hash(tmp_path: Path) -> None:
    path = broken(tmp_path, 'hash = "sha256:c647aa4a', 'hash = "md5:c647aa4a')
    with pytest.raises(LockfileError, match="invalid hash|unsupported hash") as caught:
        read_poetry_lock(path)
    assert starts_at(caught, at(path, "md5:"))


def test_not_a_poetry_lock(tmp_path: Path) -> None:
    path = tmp_path / "poetry.lock"
    path.write_text('[[package]]\nname = "x"\nversion = "1"\n')
    with pytest.raises(LockfileError, match=r"missing \[metadata\]") as caught:
        read_poetry_lock(path)
    assert str(path) in str(caught.value)


def test_a_package_without_source_comes_from_pypi(tmp_path: Path) -> None:
    # Poetry writes no [package.source] for PyPI (not reachable from here with its JSON API,
    # so this lock is the real one with attrs' source table taken out).
    table = '[package.source]\ntype = "legacy"\nurl = "https://pypi.org/simple"\nreference = "pypi-simple"\n'
    text = LOCK.read_text()
    path = tmp_path / "poetry.lock"
    path.write_text(text.replace(table, "", 1))
    lock = read_poetry_lock(path)
    attrs = one(lock, "attrs")
    assert (attrs.source.kind, attrs.source.url, attrs.index) == (
        "registry",
        "https://pypi.org/simple",
        "https://pypi.org/simple",
    )
    assert lock.indexes == ("https://pypi.org/simple",)
