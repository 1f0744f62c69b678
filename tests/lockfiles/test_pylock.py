"""The PEP 751 reader, on files written by uv (``uv export``) and pdm (``lock.format = pylock``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.markers import Marker

from layerplan.errors import LockfileError
from layerplan.lockfiles import Lock, LockedPackage
from layerplan.lockfiles import pylock as pylock_module
from layerplan.lockfiles.pylock import read_pylock
from layerplan.plugins import BUILTIN_PLUGINS
from tests.lockfiles.synthetic import make_pylock, package_name

LOCKS = Path(__file__).parent.parent / "fixtures" / "locks"
HERE = LOCKS / "pylock-reader"
GIT_COMMIT = "8e8dcf2140b347b11d69f19342db09dc3d0e6b06"


def one(lock: Lock, name: str) -> LockedPackage:
    (package,) = [p for p in lock.packages if p.name == name]
    return package


def lock_env(**overrides: object) -> dict[str, object]:
    """A Linux CPython 3.11 marker environment, PEP 751 variables included."""
    env: dict[str, object] = {
        "implementation_name": "cpython",
        "implementation_version": "3.11.9",
        "os_name": "posix",
        "platform_machine": "x86_64",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": "3.11.9",
        "python_version": "3.11",
        "sys_platform": "linux",
        "extras": frozenset(),
        "dependency_groups": frozenset(),
    }
    env.update(overrides)
    return env


def holds(marker: Marker | None, **overrides: object) -> bool:
    return marker is None or marker.evaluate(lock_env(**overrides), "lock_file")  # type: ignore[arg-type]


def test_registered_with_its_file_names() -> None:
    (pylock,) = pylock_module.layerplan_lock_formats()
    assert pylock.name == "pylock" and pylock.priority == 20 and pylock.read is read_pylock
    assert "layerplan.lockfiles.pylock" in BUILTIN_PLUGINS.values()
    assert pylock.detects(Path("pylock.toml")) and pylock.detects(Path("pylock.dev.toml"))
    assert not pylock.detects(Path("pylock.toml.orig")) and not pylock.detects(Path("mylock.toml"))


@pytest.fixture(scope="module")
def dev() -> Lock:
    return read_pylock(HERE / "pylock.dev.toml")


def test_uv_export_lock_level_facts(dev: Lock) -> None:
    assert dev.format == "pylock" and not dev.graph and dev.roots is None
    assert dev.requires_python == ">=3.10"
    assert dev.indexes == ("https://pypi.org/simple",)
    assert dev.default_groups == ()  # uv applied the groups when exporting
    assert len(dev.packages) == 26


def test_uv_export_registry_wheels(dev: Lock) -> None:
    numpys = {p.version: p for p in dev.packages if p.name == "numpy"}
    assert set(numpys) == {"1.26.4", "2.3.3"}  # uv's fork, as two marker-guarded entries
    numpy = numpys["2.3.3"]
    assert str(numpy.marker) == 'python_full_version >= "3.11"'
    assert numpy.source.kind == "registry" and numpy.index == "https://pypi.org/simple"
    (wheel,) = [w for w in numpy.wheels if w.filename and "cp311-cp311-manylinux_2_27_x86_64" in w.filename]
    assert wheel.kind == "wheel"
    assert wheel.hashes == ("sha256:bc92a5dedcc53857249ca51ef29f5e5f2f8c513e22cfb90faeb20343b8c6f7a6",)
    assert wheel.size == 16938714
    assert wheel.url is not None and wheel.url.endswith(f"/{wheel.filename}")
    assert numpy.sdist is not None and numpy.sdist.filename == "numpy-2.3.3.tar.gz"


def test_uv_export_markers(dev: Lock) -> None:
    colorama = one(dev, "colorama")
    assert holds(colorama.marker, sys_platform="win32") and not holds(colorama.marker)
    assert not holds(one(dev, "tomli").marker)  # python_full_version < '3.11'
    assert holds(one(dev, "tomli").marker, python_full_version="3.10.4", python_version="3.10")
    assert one(dev, "requests").marker is None


def test_uv_export_direct_sources(dev: Lock) -> None:
    gitdep = one(dev, "gitdep")
    assert gitdep.source.kind == "git" and gitdep.source.url == "file:///tmp/layerplan-fixtures/gitdep"
    assert gitdep.source.reference == GIT_COMMIT
    six = one(dev, "six")
    assert six.source.kind == "url"
    (six_wheel,) = six.wheels  # the archive is the package's one file
    assert six_wheel.filename == "six-1.17.0-py2.py3-none-any.whl"
    assert six_wheel.hashes == ("sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274",)
    localwheel = one(dev, "localwheel")
    assert localwheel.source.kind == "path"
    assert localwheel.source.path == "../uv-reader/workspace/vendor/localwheel-0.1.0-py3-none-any.whl"
    assert localwheel.wheels[0].filename == "localwheel-0.1.0-py3-none-any.whl" and localwheel.wheels[0].url is None
    assert one(dev, "localdir").source.kind == "directory"
    assert one(dev, "lib-a").source.kind == "editable"
    assert one(dev, "lib-a").version is None  # uv writes no version for local trees
    assert dev.root_package is None  # the project lives elsewhere than this export


def test_uv_export_groups_are_applied_at_export_time() -> None:
    plain = {p.name for p in read_pylock(HERE / "pylock.toml").packages}
    full = {p.name for p in read_pylock(HERE / "pylock.dev.toml").packages}
    # pytest and its own needs (dev group), pyyaml (extra `yaml`): present only in the
    # export made with --all-groups --all-extras, and unmarked.
    assert full - plain == {
        "exceptiongroup", "iniconfig", "packaging", "pluggy", "pygments", "pytest", "pyyaml", "tomli",
        "typing-extensions",
    }


def test_the_project_next_to_its_export_is_the_root() -> None:
    lock = read_pylock(LOCKS / "uv-reader" / "workspace" / "pylock.toml")
    assert lock.root_package == "app"
    assert one(lock, "app").source.kind == "editable" and one(lock, "app").source.path == "."


def test_pdm_lock_keeps_groups_and_extras_as_markers() -> None:
    lock = read_pylock(HERE / "pylock.pdm.toml")
    assert lock.default_groups == ("default",)
    assert lock.indexes == ()  # pdm writes no per-package index
    default = {"default"}
    dev = {"default", "dev"}
    idna = one(lock, "idna")
    assert str(idna.marker) == '"default" in dependency_groups'
    assert holds(idna.marker, dependency_groups=default)
    assert not holds(idna.marker, dependency_groups=frozenset())
    iniconfig, exceptiongroup = one(lock, "iniconfig"), one(lock, "exceptiongroup")
    assert not holds(iniconfig.marker, dependency_groups=default)
    assert holds(iniconfig.marker, dependency_groups=dev)
    assert str(exceptiongroup.marker) == 'python_version < "3.11" and "dev" in dependency_groups'
    assert not holds(exceptiongroup.marker, dependency_groups=dev)
    assert holds(exceptiongroup.marker, dependency_groups=dev, python_version="3.10")
    pysocks = one(lock, "pysocks")
    assert str(pysocks.marker) == '"socks" in extras'
    assert holds(pysocks.marker, extras=frozenset({"socks"})) and not holds(pysocks.marker)
    colorama = one(lock, "colorama")
    assert holds(colorama.marker, sys_platform="win32", dependency_groups=default)
    assert not holds(colorama.marker, dependency_groups=default)


def test_basic_fixture_shared_with_other_readers() -> None:
    path = LOCKS / "basic" / "pylock.toml"
    if not path.exists():
        pytest.skip("tests/fixtures/locks/basic/ not generated yet")
    lock = read_pylock(path)
    assert lock.root_package == "basic-fixture"
    numpy = one(lock, "numpy")
    assert numpy.version == "2.2.6"
    cp311 = [w for w in numpy.wheels if w.filename and "-cp311-cp311-manylinux" in w.filename and "x86_64" in w.filename]
    assert cp311 and all(w.hashes[0].startswith("sha256:") and w.size and w.size > 1_000_000 for w in cp311)
    assert str(one(lock, "colorama").marker) == 'sys_platform == "win32"'


def test_lines_point_at_package_headers(dev: Lock) -> None:
    lines = (HERE / "pylock.dev.toml").read_text(encoding="utf-8").splitlines()
    for package in dev.packages:
        assert package.line is not None and lines[package.line - 1] == "[[packages]]"
        assert lines[package.line] == f'name = "{package.name}"'


def test_synthetic_thousand_packages(tmp_path: Path) -> None:
    lock = read_pylock(make_pylock(1000, tmp_path / "pylock.toml"))
    assert len(lock.packages) == 1000
    assert lock.packages[0].name == package_name(0)
    assert all(3 <= len(p.wheels) <= 6 and all(w.hashes and w.size for w in p.wheels) for p in lock.packages)
    dev_only = [p for p in lock.packages if p.marker is not None and "dependency_groups" in str(p.marker)]
    assert len(dev_only) == 50
    assert lock.packages[1].dependencies[0].version is not None


# -- bad input: always a LockfileError naming the file and a line --------------------

HEAD = 'lock-version = "1.0"\ncreated-by = "test"\n'
WHEEL = (
    'wheels = [{ url = "https://example.invalid/idna-3.10-py3-none-any.whl", size = 1, '
    'hashes = { sha256 = "00" } }]\n'
)
IDNA = '\n[[packages]]\nname = "idna"\nversion = "3.10"\n' + WHEEL  # lines 4-7 after HEAD

BAD: dict[str, tuple[str, int, str]] = {
    "malformed TOML": (HEAD + "[[packages]\n", 3, "invalid TOML"),
    "missing lock-version": ('created-by = "x"\n' + IDNA, 1, "missing `lock-version`"),
    "lock-version 2": ('lock-version = "2.0"\ncreated-by = "x"\n' + IDNA, 1, "unsupported pylock lock-version"),
    "lock-version not a version": ('lock-version = "one"\ncreated-by = "x"\n' + IDNA, 1, "unsupported"),
    "missing created-by": ('lock-version = "1.0"\n' + IDNA, 1, "Missing required value"),
    "missing packages": (HEAD, 1, "Missing required value"),
    "invalid marker": (HEAD + IDNA + 'marker = "python_version >>= \'3\'"\n', 8, "Expected a marker variable"),
    "wheel without hashes": (
        HEAD + IDNA + '\n[[packages]]\nname = "six"\nwheels = [\n  { url = "https://x/six-1-py3-none-any.whl" },\n]\n',
        11,
        "Missing required value",
    ),
    "wheel of another package": (
        HEAD + '\n[[packages]]\nname = "six"\n' + WHEEL,
        6,
        "not consistent with package name",
    ),
    "not normalised name": (HEAD + '\n[[packages]]\nname = "Six_Six"\n' + WHEEL, 5, "is not normalized"),
    "vcs and wheels": (
        HEAD + IDNA + 'vcs = { type = "git", url = "https://x/y", commit-id = "abc" }\n',
        4,
        "None of vcs, directory, archive must be set",
    ),
    "mercurial": (
        HEAD + '\n[[packages]]\nname = "a"\nvcs = { type = "hg", url = "https://x/y", commit-id = "abc" }\n',
        4,
        "hg repositories are not supported",
    ),
    "dependency without a name": (HEAD + IDNA + 'dependencies = [{ version = "1" }]\n', 4, "needs a string `name`"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_a_located_lockfile_error(case: str, tmp_path: Path) -> None:
    text, line, message = BAD[case]
    path = tmp_path / "pylock.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LockfileError) as info:
        read_pylock(path)
    error = info.value
    assert error.path == path and error.line == line, str(error)
    assert str(error).startswith(f"{path}:{line}")
    assert message in str(error)
    assert error.hint and "\n" not in str(error)


def test_validation_errors_name_the_key_path(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(HEAD + IDNA + '\n[[packages]]\nname = "six"\nwheels = [{ url = "https://x/six-1-py3-none-any.whl" }]\n')
    with pytest.raises(LockfileError) as info:
        read_pylock(path)
    assert info.value.key == "packages[1].wheels[0].hashes"
    assert info.value.line == 11  # its `wheels`, not the earlier package's


SMALL = (HERE / "pylock.pdm.toml").read_text(encoding="utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=3), st.sampled_from(["", "x", "]", "{", '"', "= 1", "[[packages]]"]))
def test_damaged_lock_reads_or_fails_cleanly(tmp_path: Path, positions: list[int], junk: str) -> None:
    """Whatever is cut or inserted, the reader returns a Lock or raises LockfileError."""
    lines = SMALL.splitlines()
    for position in positions:
        lines[position % len(lines)] = junk
    path = tmp_path / "pylock.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    try:
        read_pylock(path)
    except LockfileError as error:
        assert str(error).startswith(str(path))
