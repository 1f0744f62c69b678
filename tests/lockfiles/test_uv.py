"""The uv.lock reader, on locks written by the real uv (see the fixtures' regenerate.sh)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerplan.errors import LockfileError
from layerplan.lockfiles import Lock, LockedPackage, Source, find_lock
from layerplan.lockfiles import pylock as pylock_module
from layerplan.lockfiles import uv as uv_module
from layerplan.lockfiles.uv import read_uv_lock
from layerplan.plugins import BUILTIN_PLUGINS
from tests.lockfiles.synthetic import make_uv_lock, package_name

LOCKS = Path(__file__).parent.parent / "fixtures" / "locks"
WORKSPACE = LOCKS / "uv-reader" / "workspace"
GIT_COMMIT = "8e8dcf2140b347b11d69f19342db09dc3d0e6b06"


@pytest.fixture(scope="module")
def workspace() -> Lock:
    return read_uv_lock(WORKSPACE / "uv.lock")


def by_name(lock: Lock, name: str) -> list[LockedPackage]:
    return [p for p in lock.packages if p.name == name]


def one(lock: Lock, name: str) -> LockedPackage:
    (package,) = by_name(lock, name)
    return package


def test_registered_as_the_preferred_format() -> None:
    # The hooks of this module and pylock's only, so a broken sibling reader can't fail this.
    (uv,) = uv_module.layerplan_lock_formats()
    formats = [uv, *pylock_module.layerplan_lock_formats()]
    assert uv.name == "uv" and uv.priority == 10 and uv.read is read_uv_lock
    assert "layerplan.lockfiles.uv" in BUILTIN_PLUGINS.values()
    assert uv.detects(Path("uv.lock")) and not uv.detects(Path("uv.lock.bak"))
    # uv.lock wins over the pylock.toml exported next to it.
    path, chosen = find_lock(WORKSPACE, formats)
    assert (path.name, chosen.name) == ("uv.lock", "uv")


def test_lock_level_facts(workspace: Lock) -> None:
    assert workspace.format == "uv" and workspace.graph
    assert workspace.requires_python == ">=3.10"
    assert workspace.workspace_members == ("app", "lib-a", "tools")
    assert workspace.indexes == ("https://pypi.org/simple",)
    assert len(workspace.packages) == 27


def test_the_editable_project_is_the_root(workspace: Lock) -> None:
    assert workspace.root_package == "app"
    app = one(workspace, "app")
    assert app.source.kind == "editable" and app.source.path == "."
    # The walk starts at the root's own dependencies, forks included.
    assert workspace.roots == app.dependencies
    assert {d.name for d in workspace.roots} >= {"click", "gitdep", "lib-a", "localdir", "localwheel", "six"}


def test_a_virtual_root_project() -> None:
    lock = read_uv_lock(LOCKS / "uv-reader" / "virtual-root" / "uv.lock")
    assert lock.root_package == "virtual-root"
    root = one(lock, "virtual-root")
    assert root.source.kind == "virtual" and root.source.path == "."
    assert [(d.name, str(d.marker) if d.marker else None) for d in lock.roots or ()] == [
        ("colorama", 'sys_platform == "win32"'),
        ("idna", None),
    ]
    assert lock.workspace_members == ()


def test_every_source_kind(workspace: Lock) -> None:
    sources: dict[str, Source] = {p.name: p.source for p in workspace.packages}
    assert sources["click"].kind == "registry" and sources["click"].url == "https://pypi.org/simple"
    assert sources["lib-a"].kind == "editable" and sources["lib-a"].path == "packages/lib-a"
    assert sources["tools"].kind == "virtual" and sources["tools"].path == "packages/tools"
    assert sources["localdir"].kind == "directory" and sources["localdir"].path == "vendor/localdir"
    assert sources["localwheel"].kind == "path"
    assert sources["localwheel"].path == "vendor/localwheel-0.1.0-py3-none-any.whl"
    assert sources["six"].kind == "url" and sources["six"].url is not None
    assert sources["six"].url.endswith("/six-1.17.0-py2.py3-none-any.whl")
    assert not any(s.is_local for n, s in sources.items() if n in {"click", "numpy", "requests"})
    assert all(sources[n].is_local for n in ("lib-a", "tools", "localdir", "localwheel", "six", "gitdep"))


def test_git_source_keeps_the_url_and_the_full_commit(workspace: Lock) -> None:
    gitdep = one(workspace, "gitdep")
    assert gitdep.source.kind == "git"
    assert gitdep.source.url == "file:///tmp/layerplan-fixtures/gitdep"  # ?tag=... dropped
    assert gitdep.source.reference == GIT_COMMIT
    assert gitdep.wheels == () and gitdep.sdist is None and gitdep.index is None


def test_numpy_fork_both_versions_with_their_wheels(workspace: Lock) -> None:
    numpys = {p.version: p for p in by_name(workspace, "numpy")}
    assert set(numpys) == {"1.26.4", "2.3.3"}
    edges = {d.version: str(d.marker) for d in workspace.roots or () if d.name == "numpy"}
    assert edges == {"1.26.4": 'python_full_version < "3.11"', "2.3.3": 'python_full_version >= "3.11"'}
    numpy = numpys["2.3.3"]
    assert numpy.index == "https://pypi.org/simple"
    (wheel,) = [w for w in numpy.wheels if w.filename and "cp311-cp311-manylinux_2_27_x86_64" in w.filename]
    assert wheel.kind == "wheel"
    assert wheel.filename == "numpy-2.3.3-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
    assert wheel.url is not None and wheel.url.startswith("https://files.pythonhosted.org/packages/")
    assert wheel.url.endswith(wheel.filename)
    assert wheel.hashes == ("sha256:bc92a5dedcc53857249ca51ef29f5e5f2f8c513e22cfb90faeb20343b8c6f7a6",)
    assert wheel.size == 16938714
    assert numpy.sdist is not None and numpy.sdist.kind == "sdist" and numpy.sdist.filename == "numpy-2.3.3.tar.gz"
    assert numpy.sdist.size == 20576648


def test_local_files_have_names_and_hashes(workspace: Lock) -> None:
    (localwheel,) = one(workspace, "localwheel").wheels
    assert localwheel.filename == "localwheel-0.1.0-py3-none-any.whl"
    assert localwheel.url is None and localwheel.hashes[0].startswith("sha256:")
    (six,) = one(workspace, "six").wheels
    assert six.filename == "six-1.17.0-py2.py3-none-any.whl"
    assert six.hashes == ("sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274",)


def test_markers_extras_optional_and_dev_dependencies(workspace: Lock) -> None:
    (colorama,) = [d for d in one(workspace, "click").dependencies if d.name == "colorama"]
    assert colorama.marker is not None
    assert colorama.marker.evaluate({"sys_platform": "win32"})
    assert not colorama.marker.evaluate({"sys_platform": "linux"})
    (requests,) = [d for d in workspace.roots or () if d.name == "requests"]
    assert requests.extras == ("socks",)
    assert [d.name for d in one(workspace, "requests").optional_dependencies["socks"]] == ["pysocks"]
    app = one(workspace, "app")
    assert [d.name for d in app.optional_dependencies["yaml"]] == ["pyyaml"]
    # The dev group is recorded, but apart: nothing in the main edges points at pytest.
    assert [d.name for d in app.dependency_groups["dev"]] == ["pytest"]
    assert "pytest" not in {d.name for p in workspace.packages for d in p.dependencies}
    assert one(workspace, "pytest").dependencies  # pytest's own graph is there for `--group dev`


def test_lines_point_at_package_headers(workspace: Lock) -> None:
    lines = (WORKSPACE / "uv.lock").read_text(encoding="utf-8").splitlines()
    for package in workspace.packages:
        assert package.line is not None
        assert lines[package.line - 1] == "[[package]]"
        assert lines[package.line] == f'name = "{package.name}"'


def test_basic_fixture_shared_with_other_readers() -> None:
    path = LOCKS / "basic" / "uv.lock"
    if not path.exists():
        pytest.skip("tests/fixtures/locks/basic/ not generated yet")
    lock = read_uv_lock(path)
    assert lock.root_package == "basic-fixture"
    numpy = one(lock, "numpy")
    assert numpy.version == "2.2.6"
    cp311 = [w for w in numpy.wheels if w.filename and "-cp311-cp311-manylinux" in w.filename and "x86_64" in w.filename]
    assert cp311 and all(w.hashes[0].startswith("sha256:") and w.size and w.size > 1_000_000 for w in cp311)
    markers: dict[str, str] = {d.name: str(d.marker) for d in lock.roots or () if d.marker is not None}
    assert markers["colorama"] == 'sys_platform == "win32"'
    assert markers["tomli"] == 'python_full_version < "3.11"'


def test_uv_sources_fixture_git_subdirectory() -> None:
    path = LOCKS / "uv-sources" / "uv.lock"
    if not path.exists():
        pytest.skip("tests/fixtures/locks/uv-sources/ not generated yet")
    lock = read_uv_lock(path)
    gitsub = one(lock, "gitsub")
    assert gitsub.source.kind == "git" and gitsub.source.subdirectory == "sub/gitsub"
    assert gitsub.source.url == "file:///tmp/layerplan-fixture-git/gitdep"
    assert gitsub.source.reference is not None and len(gitsub.source.reference) == 40
    assert lock.root_package is not None and one(lock, lock.root_package).source.kind == "virtual"
    assert len(lock.workspace_members) >= 2


def test_git_source_with_subdirectory_and_branch(tmp_path: Path) -> None:
    commit = "fce144aa585b8868ef6bf63959c4bc47fc5535b1"
    path = tmp_path / "uv.lock"
    path.write_text(
        "version = 1\nrevision = 3\n\n[[package]]\nname = \"GitSub\"\nversion = \"0.1.0\"\n"
        f'source = {{ git = "https://example.invalid/org/repo.git?subdirectory=sub%2Fgitsub&branch=main#{commit}" }}\n',
        encoding="utf-8",
    )
    (gitsub,) = read_uv_lock(path).packages
    assert gitsub.name == "gitsub"  # normalised
    assert gitsub.source.url == "https://example.invalid/org/repo.git"
    assert gitsub.source.reference == commit and gitsub.source.subdirectory == "sub/gitsub"
    assert gitsub.line == 4


def test_synthetic_thousand_packages(tmp_path: Path) -> None:
    lock = read_uv_lock(make_uv_lock(1000, tmp_path / "uv.lock"))
    assert len(lock.packages) == 1001  # and the virtual root
    assert lock.root_package == "synthetic-app"
    assert len(lock.roots or ()) == 100
    first = lock.packages[1]
    assert first.name == package_name(0) and 3 <= len(first.wheels) <= 6
    assert all(w.url and w.size and w.hashes for p in lock.packages[1:] for w in p.wheels)
    assert sum(1 for p in lock.packages for d in p.dependencies if d.marker is not None) > 50


# -- bad input: always a LockfileError naming the file and a line --------------------

GOOD_PACKAGE = """
[[package]]
name = "idna"
version = "3.10"
source = { registry = "https://pypi.org/simple" }
wheels = [
    { url = "https://example.invalid/idna-3.10-py3-none-any.whl", hash = "sha256:00", size = 1 },
]
"""

BAD: dict[str, tuple[str, int, str]] = {
    "malformed TOML": ("version = 1\n[[package]\nname = 'x'\n", 2, "invalid TOML"),
    "missing version": ("revision = 3\n" + GOOD_PACKAGE, 1, "missing the lock `version`"),
    "version 2": ("version = 2\nrevision = 1\n" + GOOD_PACKAGE, 1, "unsupported uv.lock version 2"),
    "version as a string": ('version = "1"\n' + GOOD_PACKAGE, 1, "must be an integer"),
    "missing source": (
        'version = 1\n\n[[package]]\nname = "idna"\nversion = "3.10"\n',
        3,
        "missing required field `source`",
    ),
    "missing name": ('version = 1\n\n[[package]]\nversion = "3.10"\nsource = { virtual = "." }\n', 3, "without a `name`"),
    "two source kinds": (
        'version = 1\n\n[[package]]\nname = "a"\nsource = { registry = "https://x", git = "https://y" }\n',
        3,
        "exactly one of",
    ),
    "git without a commit": (
        'version = 1\n\n[[package]]\nname = "a"\nsource = { git = "https://host/repo?rev=main" }\n',
        3,
        "pins no commit",
    ),
    "invalid marker": (
        "version = 1\n"
        + GOOD_PACKAGE
        + '\n[[package]]\nname = "click"\nversion = "8"\nsource = { registry = "https://pypi.org/simple" }\n'
        + 'dependencies = [\n    { name = "idna" },\n    { name = "colorama", marker = "sys_platform >>= \'win32\'" },\n]\n',
        17,
        "invalid marker",
    ),
    "wheel without location": (
        'version = 1\n\n[[package]]\nname = "a"\nsource = { registry = "https://x" }\nwheels = [{ hash = "sha256:00" }]\n',
        3,
        "no `url`, `path` or `filename`",
    ),
    "dependencies not an array": (
        'version = 1\n\n[[package]]\nname = "a"\nsource = { registry = "https://x" }\ndependencies = "b"\n',
        3,
        "must be an array",
    ),
    "package not a table array": ('version = 1\npackage = "x"\n', 2, "array of tables"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_a_located_lockfile_error(case: str, tmp_path: Path) -> None:
    text, line, message = BAD[case]
    path = tmp_path / "uv.lock"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LockfileError) as info:
        read_uv_lock(path)
    error = info.value
    assert error.path == path and error.line == line, str(error)
    assert str(error).startswith(f"{path}:{line}")
    assert message in str(error)
    assert error.hint
    assert "\n" not in str(error)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LockfileError, match="file not found"):
        read_uv_lock(tmp_path / "uv.lock")


SMALL = (LOCKS / "uv-reader" / "virtual-root" / "uv.lock").read_text(encoding="utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=3), st.sampled_from(["", "x", "]", "{", '"', "= 1"]))
def test_damaged_lock_reads_or_fails_cleanly(tmp_path: Path, positions: list[int], junk: str) -> None:
    """Whatever is cut or inserted, the reader returns a Lock or raises LockfileError."""
    lines = SMALL.splitlines()
    for position in positions:
        index = position % len(lines)
        lines[index] = junk if junk else ""
    path = tmp_path / "uv.lock"
    path.write_text("\n".join(lines), encoding="utf-8")
    try:
        read_uv_lock(path)
    except LockfileError as error:
        assert str(error).startswith(str(path))
