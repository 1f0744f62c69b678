"""The pip that installs inside the image: a pinned wheel, run from where it was copied.

Base images differ in what they ship. Debian's ``python3`` has no ``ensurepip`` (that is
the separate ``python3.X-venv`` package), so ``python3 -m venv`` fails there, while
``python3 -m venv --without-pip`` works on Debian, the official ``python`` images and
Alpine alike. A wheel is a zip that Python can import from, and pip's ``__main__``
supports being run straight from its wheel (``python pip-X-py3-none-any.whl/pip
install ...``), so pip never has to be installed: the venv holds exactly the locked
packages, as in a direct build, and pip itself stays outside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from layerplan.fetch import Fetcher, WantedFile

__all__ = ["PINNED_PIPS", "PinnedPip", "fetch_pip", "pip_for"]


@dataclass(frozen=True, kw_only=True, slots=True)
class PinnedPip:
    """One pip release, pinned by its wheel's URL and hash."""

    version: str
    url: str
    sha256: str
    size: int
    min_python: tuple[int, int]
    """Oldest Python this pip supports (its ``Requires-Python``)."""

    @property
    def filename(self) -> str:
        """``pip-X-py3-none-any.whl``."""
        return f"pip-{self.version}-py3-none-any.whl"


_FILES = "https://files.pythonhosted.org/packages"
PINNED_PIPS = (
    PinnedPip(
        version="26.2.1",
        url=f"{_FILES}/f3/6e/1736e5b4ae2b778ef2f81c47d797de9f891d4d8acb047a24ca37a60294dd/pip-26.2.1-py3-none-any.whl",
        sha256="71138adf1f4ca900cdb7d289c21b7494329f2332b6d85f0e1c42108c0384ed3e",
        size=1816632,
        min_python=(3, 10),
    ),
    PinnedPip(
        version="26.0.1",
        url=f"{_FILES}/de/f0/c81e05b613866b76d2d1066490adf1a3dbc4ee9d9c839961c3fc8a6997af/pip-26.0.1-py3-none-any.whl",
        sha256="bdb1b08f4274833d62c1aa29e20907365a2ceb950410df15fc9521bad440122b",
        size=1787723,
        min_python=(3, 9),
    ),
    PinnedPip(
        version="25.0.1",
        url=f"{_FILES}/c9/bc/b7db44f5f39f9d0494071bddae6880eb645970366d0a200022a1a93d57f5/pip-25.0.1-py3-none-any.whl",
        sha256="c46efd13b6aa8279f33f2864459c8ce587ea6a1a59ee20de055868d8f7688f7f",
        size=1841526,
        min_python=(3, 8),
    ),
)
"""Newest first. Bumping one changes the environment step, so every image rebuilds once."""


def pip_for(python_version: tuple[int, int]) -> PinnedPip:
    """The newest pinned pip that runs on ``python_version`` (the target supports 3.8+)."""
    for pip in PINNED_PIPS:
        if python_version >= pip.min_python:
            return pip
    return PINNED_PIPS[-1]


def fetch_pip(pip: PinnedPip, fetcher: Fetcher) -> Path:
    """The verified pip wheel in the fetch cache (downloaded once, checked by hash)."""
    wanted = WantedFile.from_url("pip", pip.url, (f"sha256:{pip.sha256}",), size=pip.size, filename=pip.filename)
    (fetched,) = fetcher.fetch([wanted])
    return fetched.path
