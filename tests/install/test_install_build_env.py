"""Build environments (install/build_env.py): requirements installed by uv from its own cache
when it can, from the index otherwise; what a hook's environment holds."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from layerplan.install.build_env import backend_environ, find_installer, install_requirements, new_environment

BLOCKED = "http://127.0.0.1:9"
"""A proxy nobody listens on: with it, uv cannot reach any index."""


def _installed(env: Path) -> set[str]:
    return {p.name.split("-")[0].lower() for p in env.glob("lib/python*/site-packages/*.dist-info")}


@pytest.mark.skipif(find_installer().kind != "uv", reason="uv is what has a cache to install from alone")
def test_uv_installs_from_its_cache_alone_then_from_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty uv cache: the requirement comes from the index. Then a new environment gets it
    with no index reachable (uv's cache alone); one uv has never seen still needs the index,
    and its failure is the error raised."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    new_environment(tmp_path / "one")
    install_requirements(tmp_path / "one" / "bin" / "python", ["six==1.16.0"])
    assert "six" in _installed(tmp_path / "one")

    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, BLOCKED)
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")  # the blocked index fails at once
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    new_environment(tmp_path / "two")
    install_requirements(tmp_path / "two" / "bin" / "python", ["six==1.16.0"])
    assert "six" in _installed(tmp_path / "two")
    with pytest.raises(subprocess.CalledProcessError):
        install_requirements(tmp_path / "two" / "bin" / "python", ["six==1.15.0"])


def test_a_hook_environment_caches_bytecode_only_in_its_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``bytecode_cache``: PYTHONDONTWRITEBYTECODE dropped, an absolute PYTHONPYCACHEPREFIX
    (a hook runs in the project's directory); without it, the caller's settings stay."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.chdir(tmp_path)
    cached = backend_environ(1, bytecode_cache=Path("env") / "pycache")
    assert "PYTHONDONTWRITEBYTECODE" not in cached
    assert cached["PYTHONPYCACHEPREFIX"] == os.path.join(str(tmp_path), "env", "pycache")
    plain = backend_environ(1)
    assert plain["PYTHONDONTWRITEBYTECODE"] == "1" and "PYTHONPYCACHEPREFIX" not in plain
