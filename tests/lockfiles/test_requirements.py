"""The requirements.txt reader, on files written by uv, pip-compile and pipenv (see regen.sh)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.markers import Marker

from layerplan.errors import LockfileError
from layerplan.lockfiles import Lock, LockedPackage, find_lock
from layerplan.lockfiles import requirements as requirements_module
from layerplan.lockfiles.requirements import PYPI_SIMPLE, read_requirements

LOCKS = Path(__file__).parent.parent / "fixtures" / "locks"
HERE = LOCKS / "requirements-reader"
BASIC = LOCKS / "basic" / "requirements.txt"
ATTRS_WHEEL = "sha256:c647aa4a12dfbad9333ca4e71fe62ddc36f4e63b2d260a37a8b83d2f043ac309"
ATTRS_SDIST = "sha256:d03ceb89cb322a8fd706d4fb91940737b6642aa36998fe130a9bc96c985eff32"
SIX_WHEEL = "sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
SIX_URL = (
    "https://files.pythonhosted.org/packages/b7/ce/149a00dd41f10bc29e5921b496af8b574d8413afcd5e30dfa0ed46c2cc5e/"
    "six-1.17.0-py2.py3-none-any.whl"
)


def by_name(lock: Lock, name: str) -> list[LockedPackage]:
    return [p for p in lock.packages if p.name == name]


def one(lock: Lock, name: str) -> LockedPackage:
    (package,) = by_name(lock, name)
    return package


def installed(lock: Lock, python: str, platform: str = "linux") -> dict[str, str | None]:
    env = {"python_version": python, "python_full_version": f"{python}.0", "sys_platform": platform}
    return {p.name: p.version for p in lock.packages if p.marker is None or p.marker.evaluate(env)}


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_registered_last_and_for_any_named_txt() -> None:
    (fmt,) = requirements_module.layerplan_lock_formats()
    assert (fmt.name, fmt.priority) == ("requirements", 60)
    assert fmt.detects(Path("requirements.txt")) and fmt.detects(Path("requirements.lock"))
    assert not fmt.detects(Path("pip-compile.txt")) and fmt.accepts(Path("pip-compile.txt"))
    path, chosen = find_lock(HERE, [fmt])
    assert (path.name, chosen.read) == ("requirements.txt", read_requirements)


# --- files written by the real tools -------------------------------------------------


def test_uv_pip_compile_universal() -> None:
    lock = read_requirements(HERE / "requirements.txt")
    assert lock.format == "requirements" and not lock.graph and lock.default_groups == ()
    assert lock.indexes == (PYPI_SIMPLE,)  # --index-url written by --emit-index-url
    assert len(lock.packages) == 13
    assert installed(lock, "3.9")["urllib3"] == "2.6.3" and installed(lock, "3.12")["urllib3"] == "2.8.0"
    assert "tomli" in installed(lock, "3.10") and "tomli" not in installed(lock, "3.11")
    assert "colorama" not in installed(lock, "3.12") and "colorama" in installed(lock, "3.12", "win32")
    attrs = one(lock, "attrs")
    assert attrs.hashes == (ATTRS_WHEEL, ATTRS_SDIST) and attrs.source.kind == "registry"
    assert len(one(lock, "charset-normalizer").hashes) == 172
    assert by_name(lock, "pyyaml")[1].marker == Marker("python_full_version >= '3.10'")


def test_lines_are_the_first_physical_line_of_each_requirement() -> None:
    path = HERE / "requirements.txt"
    lock = read_requirements(path)
    lines = path.read_text().splitlines()
    for package in lock.packages:
        assert package.line is not None
        assert lines[package.line - 1].startswith(f"{package.name}=={package.version}"), package.name
        assert lines[package.line - 1].endswith("\\")


def test_uv_export_with_groups_extras_and_an_editable_path() -> None:
    lock = read_requirements(HERE / "uv-export.txt")
    assert lock.indexes == () and len(lock.packages) == 28
    helper = lock.packages[0]  # "-e ./libs/helper", name and version from its pyproject.toml
    assert (helper.name, helper.version, helper.source.kind, helper.source.path) == (
        "helper",
        "0.3.0",
        "editable",
        "libs/helper",
    )
    assert installed(lock, "3.9")["pytest"] == "8.4.2" and installed(lock, "3.13")["pytest"] == "9.2.0"
    assert [p.version for p in by_name(lock, "click")] == ["8.1.8", "8.5.1"]


def test_pip_compile() -> None:
    lock = read_requirements(HERE / "pip-compile.txt")
    # only --extra-index-url written (pip-compile drops the default index): PyPI stays first
    assert lock.indexes == (PYPI_SIMPLE,)
    assert {p.name: p.version for p in lock.packages} == {
        "attrs": "26.1.0", "certifi": "2026.10.19.post1", "charset-normalizer": "3.5.3", "idna": "3.20",
        "pysocks": "1.7.1", "pyyaml": "6.0.4", "requests": "2.34.2", "urllib3": "2.8.0",
    }  # fmt: skip
    assert all(p.marker is None and p.hashes for p in lock.packages)


def test_pipenv_requirements_keep_unpinned_marker_lines() -> None:
    lock = read_requirements(HERE / "pipenv-requirements.txt")
    assert lock.indexes == (PYPI_SIMPLE,)  # "-i https://pypi.org/simple"
    colorama = one(lock, "colorama")  # "colorama; sys_platform == 'win32'": not locked on Linux
    assert (colorama.version, colorama.hashes) == (None, ())
    assert one(lock, "tomli").version is None
    assert one(lock, "requests").version == "2.34.2"  # requests[socks]: the extra is listed on its own
    assert one(lock, "helper").source.kind == "editable"
    assert one(lock, "attrs").line == 2


def test_basic_fixture() -> None:
    lock = read_requirements(BASIC)
    assert len(lock.packages) == 14
    numpy = one(lock, "numpy")
    assert numpy.version == "2.2.6" and len(numpy.hashes) == 55
    assert str(one(lock, "tomli").marker) == 'python_full_version < "3.11"'


# --- pip's syntax, on small files ----------------------------------------------------


def test_continuations_comments_and_options(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "requirements.txt",
        "# a comment \\\n"
        "--index-url https://index.example.invalid/simple/\n"
        "--extra-index-url=https://extra.example.invalid/simple\n"
        "--find-links ./wheels\n--trusted-host index.example.invalid\n--pre --no-index\n"
        "\n"
        f"attrs==26.1.0 \\\n    --hash=sha256:{ATTRS_WHEEL[7:]} \\\n"
        "    # via app (a comment ends the continuation)\n"
        f"six @ {SIX_URL}#sha256={SIX_WHEEL[7:]}  # trailing comment\n",
    )
    lock = read_requirements(path)
    assert lock.indexes == ("https://index.example.invalid/simple", "https://extra.example.invalid/simple")
    attrs, six = lock.packages
    assert (attrs.version, attrs.hashes, attrs.line) == ("26.1.0", (ATTRS_WHEEL,), 8)
    assert (six.source.kind, six.source.url, six.line) == ("url", SIX_URL, 11)
    (wheel,) = six.wheels
    assert (wheel.filename, wheel.url, wheel.hashes) == ("six-1.17.0-py2.py3-none-any.whl", SIX_URL, (SIX_WHEEL,))
    assert six.version == "1.17.0"


def test_includes_are_relative_to_the_including_file(tmp_path: Path) -> None:
    write(tmp_path, "sub/base.txt", f"attrs==26.1.0 --hash={ATTRS_WHEEL}\n-e ../libs/helper\n-r more/dev.txt\n")
    write(tmp_path, "sub/more/dev.txt", f"six==1.17.0 --hash={SIX_WHEEL}\n")
    write(tmp_path, "libs/helper/pyproject.toml", '[project]\nname = "Helper_Pkg"\nversion = "0.3.0"\n')
    top = write(
        tmp_path,
        "requirements.txt",
        "-r sub/base.txt\n--requirement=sub/more/dev.txt\n-c constraints-that-do-not-exist.txt\n",
    )
    lock = read_requirements(top)
    assert [p.name for p in lock.packages] == ["attrs", "helper-pkg", "six"]  # six twice, same pin: once
    helper = one(lock, "helper-pkg")
    assert (helper.source.kind, helper.source.path) == ("editable", "libs/helper")  # relative to the top file


def test_include_cycle(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", f"attrs==26.1.0 --hash={ATTRS_WHEEL}\n-r b.txt\n")
    b = write(tmp_path, "b.txt", "# b includes a\n-r a.txt\n")
    with pytest.raises(LockfileError, match="include cycle: a.txt -> b.txt -> a.txt") as caught:
        read_requirements(tmp_path / "a.txt")
    assert str(caught.value).startswith(f"{b}:2:")


def test_missing_include(tmp_path: Path) -> None:
    path = write(tmp_path, "requirements.txt", "\n-r nowhere.txt\n")
    with pytest.raises(LockfileError, match="included file not found: nowhere.txt") as caught:
        read_requirements(path)
    assert str(caught.value).startswith(f"{path}:2:")


def test_direct_references(tmp_path: Path) -> None:
    write(tmp_path, "libs/helper/pyproject.toml", '[project]\nname = "helper"\nversion = "0.3.0"\n')
    wheel = tmp_path / "dist" / "localpkg-1.0-py3-none-any.whl"
    path = write(
        tmp_path,
        "requirements.txt",
        "./libs/helper\n"
        f"localpkg @ {wheel.as_uri()}\n"
        "https://files.example.invalid/pkgs/remote_pkg-2.0.tar.gz --hash=" + ATTRS_SDIST + "\n"
        "-e git+https://git.example.invalid/repo.git@0123abcd#egg=gitdep&subdirectory=sub\n"
        "named @ git+https://git.example.invalid/named.git@v1.0 ; python_version >= '3.10'\n",
    )
    lock = read_requirements(path)
    helper, local, remote, gitdep, named = lock.packages
    assert (helper.name, helper.source.kind, helper.source.path) == ("helper", "directory", "libs/helper")
    assert (local.source.kind, local.source.path, local.version) == ("path", wheel.as_posix(), "1.0")
    assert local.wheels[0].filename == wheel.name and local.wheels[0].url is None
    assert (remote.name, remote.version, remote.source.kind) == ("remote-pkg", "2.0", "url")
    assert remote.sdist is not None and remote.sdist.hashes == (ATTRS_SDIST,)
    assert (gitdep.name, gitdep.source.kind, gitdep.source.url) == (
        "gitdep",
        "git",
        "https://git.example.invalid/repo.git",
    )
    assert (gitdep.source.reference, gitdep.source.subdirectory) == ("0123abcd", "sub")
    assert (named.source.reference, str(named.marker)) == ("v1.0", 'python_version >= "3.10"')


# --- bad input: every error names the file and the line -----------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("attrs==26.1.0 --hash=" + ATTRS_WHEEL + "\n\nattrs>=26 --hash=" + ATTRS_WHEEL + "\n", 3, "is not pinned"),
        ("attrs==26.1.0\n", 1, "has no `--hash`"),
        ("# top\nattrs==26.1.0 \\\n  --hash=sha256:abc \\\n  --hash=" + ATTRS_SDIST + "\n", 2, "wrong length"),
        ("ok==1 --hash=" + ATTRS_WHEEL + "\nattrs=>26.1.0 \\\n    --hash=" + ATTRS_WHEEL + "\n", 2, "invalid requirement"),
        ("attrs==26.1.0 ; python_version >> '3' --hash=" + ATTRS_WHEEL + "\n", 1, "invalid requirement"),
        ("--frobnicate\n", 1, "unknown or misplaced option"),
        # a forgotten backslash: the second hash stands alone
        ("attrs==26.1.0 --hash=" + ATTRS_WHEEL + "\n--hash=" + ATTRS_SDIST + "\n", 2, "misplaced option '--hash="),
        ("attrs==26.1.0 --no-deps --hash=" + ATTRS_WHEEL + "\n", 1, "not allowed after a requirement"),
        ("-e attrs\n", 1, "-e needs a path or a VCS URL"),
        ("-e hg+https://hg.example.invalid/repo#egg=x\n", 1, "hg requirements are not supported"),
        ("-r https://example.invalid/requirements.txt\n", 1, "remote requirement files are not supported"),
        ("./not-a-project\n", 1, "cannot tell which package"),
        ("--index-url\n", 1, "needs a value"),
        (
            f"attrs==26.1.0 --hash={ATTRS_WHEEL}\nattrs==26.1.0 --hash={ATTRS_SDIST}\n",
            2,
            "listed twice with different pins",
        ),
    ],
    ids=[
        "unpinned", "no-hash", "bad-hash-on-a-continuation", "bad-requirement-continued", "bad-marker",
        "unknown-option", "hash-on-its-own-line", "per-requirement-option", "editable-name", "hg",
        "remote-include", "nameless-directory", "missing-value", "conflicting-duplicate",
    ],
)  # fmt: skip
def test_bad_lines(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, "requirements.txt", text)
    with pytest.raises(LockfileError, match=message) as caught:
        read_requirements(path)
    assert str(caught.value).startswith((f"{path}:{line}:", f"{path}:{line} `"))


def test_unpinned_line_hints_at_generate_hashes(tmp_path: Path) -> None:
    path = write(tmp_path, "requirements.txt", "attrs\n")
    with pytest.raises(LockfileError) as caught:
        read_requirements(path)
    assert "--generate-hashes" in str(caught.value)


def test_error_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    inner = write(tmp_path, "deps/inner.txt", "\n\nsix==1.17.0\n")
    top = write(tmp_path, "requirements.txt", f"attrs==26.1.0 --hash={ATTRS_WHEEL}\n-r deps/inner.txt\n")
    with pytest.raises(LockfileError, match="has no `--hash`") as caught:
        read_requirements(top)
    assert str(caught.value).startswith(f"{inner}:3:")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LockfileError, match="file not found"):
        read_requirements(tmp_path / "requirements.txt")


def test_invalid_requirement_is_one_line(tmp_path: Path) -> None:
    # packaging's message draws a caret under the text on extra lines: only the first is kept.
    path = write(tmp_path, "requirements.txt", f"attrs==abc --hash={ATTRS_WHEEL}\n")
    with pytest.raises(LockfileError, match="invalid requirement 'attrs==abc': Expected") as caught:
        read_requirements(path)
    assert "\n" not in str(caught.value)


def test_an_include_that_is_a_directory_or_a_fifo(tmp_path: Path) -> None:
    (tmp_path / "deps").mkdir()
    os.mkfifo(tmp_path / "pipe.txt")
    for name in ("deps", "pipe.txt"):
        path = write(tmp_path, "requirements.txt", f"-r {name}\n")
        with pytest.raises(LockfileError, match=f"included path is not a regular file: {name}"):
            read_requirements(path)


def test_a_fifo_is_refused_not_read(tmp_path: Path) -> None:
    # Reading a FIFO with no writer would block forever.
    os.mkfifo(tmp_path / "requirements.txt")
    with pytest.raises(LockfileError, match="not a regular file"):
        read_requirements(tmp_path / "requirements.txt")


# --- property: what pip-compile writes reads back exactly -----------------------------

_names = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)
_versions = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)).map(lambda v: ".".join(map(str, v)))
_digests = st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex())
_markers = st.sampled_from([None, "sys_platform == 'win32'", "python_full_version < '3.11'"])
_entries = st.dictionaries(
    _names, st.tuples(_versions, st.lists(_digests, min_size=1, max_size=4), _markers), max_size=8
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=_entries, via=st.booleans())
def test_pip_compile_layout_round_trips(
    tmp_path: Path, entries: dict[str, tuple[str, list[str], str | None]], via: bool
) -> None:
    lines, starts = ["#", "# autogenerated", "#"], {}
    for name, (version, hashes, marker) in entries.items():
        starts[name] = len(lines) + 1
        head = f"{name}=={version}" + (f" ; {marker}" if marker else "")
        lines.append(head + " \\")
        lines.extend(f"    --hash={h}" + (" \\" if i < len(hashes) - 1 else "") for i, h in enumerate(hashes))
        if via:
            lines.append("    # via -r requirements.in")
    path = write(tmp_path, "requirements.txt", "\n".join(lines) + "\n")
    lock = read_requirements(path)
    assert [p.name for p in lock.packages] == list(entries)
    for package in lock.packages:
        version, hashes, marker = entries[package.name]
        assert package.version == version and package.hashes == tuple(sorted(set(hashes)))
        assert package.marker == (Marker(marker) if marker else None)
        assert package.line == starts[package.name]


def test_editable_dot_is_the_project_itself(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "Demo_App"\nversion = "0.1.0"\n')
    lock = read_requirements(write(tmp_path, "requirements.txt", f"-e .\nattrs==26.1.0 --hash={ATTRS_WHEEL}\n"))
    assert lock.root_package == "demo-app"
    assert (lock.packages[0].source.kind, lock.packages[0].source.path) == ("editable", ".")
    assert read_requirements(HERE / "uv-export.txt").root_package is None  # package = false: not listed


@pytest.mark.parametrize(
    "text",
    [
        "A_b.C==1.0", "x==v1.0", "x==01.0", "x==1.0+local.7", "x==1!2.0.post1.dev3", "x==1.0_post1",
        "x===1.0", "x==1.*", "x ==1.0", "x== 1.0", "x==1.0;python_version<'4'", "x[y]==1.0", "x==1.0,<2",
        "x-==1.0", "x==1.0=", "x==foo",
    ],
)  # fmt: skip
def test_plain_pin_reads_as_requirement(tmp_path: Path, text: str) -> None:
    """``name==version`` lines skip packaging's ``Requirement`` parser; every line reads
    (or fails) as it does through it."""
    from packaging.requirements import InvalidRequirement, Requirement

    from layerplan.lockfiles._common import Entries

    digest = "sha256:" + "a" * 64
    path = tmp_path / "requirements.txt"
    path.write_text(f"{text} --hash={digest}\n", encoding="utf-8")
    try:
        expected = requirements_module._pinned(Entries(path, "", ""), Requirement(text), (digest,), 1)
    except (InvalidRequirement, LockfileError):  # not a requirement, or not a pin
        with pytest.raises(LockfileError):
            read_requirements(path)
        return
    (package,) = read_requirements(path).packages
    assert package == expected
