"""Installing real and crafted wheels into a staging tree."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from layerplan.install import (
    InstallError,
    TargetVenv,
    UnsafeWheelError,
    install_wheel,
    make_venv,
    staged,
)

VENV = TargetVenv(python_version="3.11")
SITE = "app/.venv/lib/python3.11/site-packages"


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())


def test_files_go_to_the_target_paths(real_wheels, tmp_path):  # type: ignore[no-untyped-def]
    installed = install_wheel(real_wheels["six"], tmp_path, VENV)
    assert _tree(tmp_path) == [
        f"{SITE}/six-1.16.0.dist-info/INSTALLER",
        f"{SITE}/six-1.16.0.dist-info/LICENSE",
        f"{SITE}/six-1.16.0.dist-info/METADATA",
        f"{SITE}/six-1.16.0.dist-info/RECORD",
        f"{SITE}/six-1.16.0.dist-info/WHEEL",
        f"{SITE}/six-1.16.0.dist-info/top_level.txt",
        f"{SITE}/six.py",
    ]
    assert (tmp_path / SITE / "six-1.16.0.dist-info/INSTALLER").read_text() == "layerplan\n"
    assert installed.name == "six" and installed.version == "1.16.0"
    assert installed.dist_info == PurePosixPath("/" + SITE + "/six-1.16.0.dist-info")
    assert installed.files == tuple(PurePosixPath("/" + p) for p in _tree(tmp_path))
    assert installed.size == sum((tmp_path / p).stat().st_size for p in _tree(tmp_path))
    record = list(csv.reader((tmp_path / SITE / "six-1.16.0.dist-info/RECORD").read_text().splitlines()))
    assert ["six-1.16.0.dist-info/RECORD", "", ""] in record
    assert any(row[0] == "six.py" and row[1].startswith("sha256=") for row in record)


def test_console_script_has_the_short_shebang(real_wheels, tmp_path):  # type: ignore[no-untyped-def]
    install_wheel(real_wheels["pyflakes"], tmp_path, VENV, requested=True)
    script = tmp_path / "app/.venv/bin/pyflakes"
    assert script.read_bytes().split(b"\n")[0] == b"#!/app/.venv/bin/python"
    assert os.access(script, os.X_OK)
    assert (tmp_path / SITE / "pyflakes-3.2.0.dist-info/REQUESTED").exists()
    record = (tmp_path / SITE / "pyflakes-3.2.0.dist-info/RECORD").read_text()
    assert "../../../bin/pyflakes," in record


def test_data_scripts_get_the_short_shebang(real_wheels, tmp_path):  # type: ignore[no-untyped-def]
    install_wheel(real_wheels["docutils"], tmp_path, VENV)
    script = tmp_path / "app/.venv/bin/rst2html.py"
    assert script.read_bytes().split(b"\n")[0] == b"#!/app/.venv/bin/python"
    assert os.access(script, os.X_OK)
    assert (tmp_path / "app/.venv/bin/docutils").exists()  # its console script too


def test_data_and_headers_schemes(tmp_path, make_wheel):  # type: ignore[no-untyped-def]
    wheel = make_wheel(
        tmp_path,
        {
            "crafted/__init__.py": b"",
            "crafted-1.0.data/data/share/crafted/x.txt": b"data",
            "crafted-1.0.data/headers/crafted.h": b"/* h */",
            "crafted-1.0.data/purelib/extra.py": b"X = 1\n",
        },
    )
    install_wheel(wheel, tmp_path / "stage", VENV)
    stage = tmp_path / "stage"
    assert (stage / "app/.venv/share/crafted/x.txt").read_bytes() == b"data"
    assert (stage / "app/.venv/include/site/python3.11/crafted/crafted.h").exists()
    assert (stage / SITE / "extra.py").exists()


def test_installed_scripts_run_in_a_real_venv(real_wheels, tmp_path):  # type: ignore[no-untyped-def]
    """Skeleton + wheels at their final host path, over the host's own Python 3.11."""
    if sys.version_info[:2] != (3, 11):
        pytest.skip("needs the host interpreter to be 3.11 for the venv's lib/python3.11")
    venv = TargetVenv(python_version="3.11", prefix=PurePosixPath(tmp_path / "venv"))
    base = PurePosixPath(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    root = Path("/")
    make_venv(root, venv, base)
    for name in ("six", "pyflakes", "docutils"):
        install_wheel(real_wheels[name], root, venv)
    bin_dir = tmp_path / "venv" / "bin"
    assert (bin_dir / "pyflakes").read_text().startswith(f"#!{bin_dir}/python\n")
    (tmp_path / "bad.py").write_text("import os\n")
    flakes = subprocess.run([bin_dir / "pyflakes", tmp_path / "bad.py"], capture_output=True, text=True, check=False)
    assert "'os' imported but unused" in flakes.stdout
    rst = subprocess.run([bin_dir / "rst2html.py", "--version"], capture_output=True, text=True, check=True)
    assert "Docutils 0.20.1" in rst.stdout
    prefix = subprocess.run(
        [bin_dir / "python", "-c", "import sys, six; print(sys.prefix, six.__file__)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert prefix.stdout.split() == [str(tmp_path / "venv"), f"{tmp_path}/venv/lib/python3.11/site-packages/six.py"]


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("../evil.py", "climbs out"),
        ("crafted/../../evil.py", "climbs out"),
        ("/tmp/evil.py", "absolute path"),
        ("crafted-1.0.data/data/../../../../evil.py", "climbs out"),
        ("C:/evil.py", "absolute path"),
    ],
)
def test_escaping_entries_are_refused(tmp_path, make_wheel, entry, why):  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path, {"crafted/__init__.py": b"", entry: b"pwned"})
    stage = tmp_path / "deep" / "stage"
    with pytest.raises(UnsafeWheelError, match=why) as caught:
        install_wheel(wheel, stage, VENV)
    assert wheel.name in str(caught.value) and repr(entry) in str(caught.value)
    assert not stage.exists()  # checked before anything is written
    assert not list(tmp_path.rglob("evil.py"))


def test_symlink_entries_leading_out_are_refused(tmp_path, make_wheel):  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path, {"crafted/__init__.py": b""}, symlinks={"crafted/passwd": "../../../etc/passwd"})
    with pytest.raises(UnsafeWheelError, match=r"'crafted/passwd' is a symlink to '../../../etc/passwd'"):
        install_wheel(wheel, tmp_path / "stage", VENV)
    absolute = make_wheel(tmp_path, {"crafted/__init__.py": b""}, symlinks={"crafted/passwd": "/etc/passwd"}, version="2")
    with pytest.raises(UnsafeWheelError, match="symlink"):
        install_wheel(absolute, tmp_path / "stage", VENV)


def test_writes_through_symlinks_in_the_staging_tree_are_refused(tmp_path, make_wheel):  # type: ignore[no-untyped-def]
    """bin/python links to the image's interpreter: on the host that path is outside."""
    stage = tmp_path / "stage"
    outside = tmp_path / "host-python3.12"
    make_venv(stage, VENV, PurePosixPath(outside))
    wheel = make_wheel(tmp_path, {"crafted-1.0.data/scripts/python": b"#!python\npwned\n"})
    with pytest.raises(UnsafeWheelError, match="would replace /app/.venv/bin/python"):
        install_wheel(wheel, stage, VENV)
    assert not outside.exists()
    (stage / SITE / "crafted").mkdir(parents=True)
    (stage / SITE / "crafted" / "out").symlink_to(outside)
    through_link = make_wheel(tmp_path, {"crafted/out": b"pwned"}, version="2")
    with pytest.raises(UnsafeWheelError, match="would overwrite the symlink"):
        install_wheel(through_link, stage, VENV)
    assert not outside.exists()
    (stage / SITE / "crafted" / "out").unlink()
    (stage / SITE / "crafted").rmdir()

    (tmp_path / "elsewhere").mkdir()
    (stage / SITE / "crafted").symlink_to(tmp_path / "elsewhere")
    linked_dir = make_wheel(tmp_path, {"crafted/__init__.py": b"pwned"}, version="3")
    with pytest.raises(UnsafeWheelError, match="would be written through a symlink to"):
        install_wheel(linked_dir, stage, VENV)
    assert not list((tmp_path / "elsewhere").iterdir())


def test_invalid_wheels(tmp_path, make_wheel):  # type: ignore[no-untyped-def]
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InstallError, match="not a valid wheel"):
        install_wheel(junk, tmp_path / "stage", VENV)
    wheel = make_wheel(tmp_path, {"crafted-1.0.data/nonsense/x": b""})
    with pytest.raises(InstallError, match="cannot install"):
        install_wheel(wheel, tmp_path / "stage", VENV)


def test_conflicts(real_wheels, tmp_path):  # type: ignore[no-untyped-def]
    install_wheel(real_wheels["six"], tmp_path, VENV)
    install_wheel(real_wheels["six"], tmp_path, VENV)  # overwrite, as pip does
    with pytest.raises(InstallError, match="six.py"):
        install_wheel(real_wheels["six"], tmp_path, VENV, overwrite=False)


def test_a_venv_path_that_cannot_be_a_shebang(real_wheels, tmp_path):  # type: ignore[no-untyped-def]
    with pytest.raises(InstallError, match="cannot be a shebang"):
        install_wheel(real_wheels["six"], tmp_path, TargetVenv(python_version="3.11", prefix=PurePosixPath("/my app")))


def test_staged() -> None:
    assert staged(Path("/s"), PurePosixPath("/app/.venv")) == Path("/s/app/.venv")
    with pytest.raises(ValueError):
        staged(Path("/s"), PurePosixPath("app"))


def test_bytecode_shipped_in_a_wheel_is_left_out(tmp_path, make_wheel, recwarn):  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path, {"crafted/__init__.py": b"", "crafted/__pycache__/__init__.cpython-311.pyc": b"stale"})
    installed = install_wheel(wheel, tmp_path / "stage", VENV)
    assert not list((tmp_path / "stage").rglob("__pycache__"))
    assert all("__pycache__" not in str(p) for p in installed.files)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
