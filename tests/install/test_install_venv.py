"""The environment skeleton."""

from __future__ import annotations

import os
from pathlib import PurePosixPath

import pytest

from layerplan.install import TargetVenv, make_venv, pyvenv_cfg

BASE = PurePosixPath("/usr/local/bin/python3.12")


def test_skeleton(tmp_path):  # type: ignore[no-untyped-def]
    venv = TargetVenv(python_version="3.12")
    made = make_venv(tmp_path, venv, BASE, version="3.12.7")
    root = tmp_path / "app/.venv"
    assert (root / "pyvenv.cfg").read_text() == (
        "home = /usr/local/bin\n"
        "include-system-site-packages = false\n"
        "version = 3.12.7\n"
        "executable = /usr/local/bin/python3.12\n"
    )
    for name in ("python", "python3", "python3.12"):
        assert os.readlink(root / "bin" / name) == str(BASE)
    assert os.readlink(root / "lib64") == "lib"
    assert (root / "lib/python3.12/site-packages").is_dir()
    assert PurePosixPath("/app/.venv/bin/python") in made and PurePosixPath("/app/.venv/pyvenv.cfg") in made
    assert made == tuple(sorted(made))
    # Idempotent.
    assert make_venv(tmp_path, venv, BASE, version="3.12.7") == made


def test_options(tmp_path):  # type: ignore[no-untyped-def]
    venv = TargetVenv(python_version="3.11", prefix=PurePosixPath("/opt/env"))
    make_venv(tmp_path, venv, PurePosixPath("/usr/bin/python3.11"), lib64=False, prompt="app")
    assert not os.path.lexists(tmp_path / "opt/env/lib64")
    assert "version = 3.11\n" in (tmp_path / "opt/env/pyvenv.cfg").read_text()
    assert pyvenv_cfg(PurePosixPath("/usr/bin/python3.11"), "3.11.2", prompt="app").endswith("prompt = app\n")


def test_bad_arguments(tmp_path):  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="absolute"):
        make_venv(tmp_path, TargetVenv(python_version="3.12"), PurePosixPath("python3"))
    with pytest.raises(ValueError, match="does not match"):
        make_venv(tmp_path, TargetVenv(python_version="3.12"), BASE, version="3.11.2")
    with pytest.raises(ValueError, match="3.X"):
        TargetVenv(python_version="3")
    with pytest.raises(ValueError, match="absolute"):
        TargetVenv(python_version="3.12", prefix=PurePosixPath("app"))
