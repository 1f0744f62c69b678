"""Small builders of install sets for planner tests (the readers have their own real-data tests)."""

from __future__ import annotations

import hashlib

from packaging.utils import canonicalize_name

from layerplan.lockfiles.model import LockedFile, Source
from layerplan.selection.model import InstallItem, InstallSet
from layerplan.target import make_target


def item(name: str, version: str = "1.0", size: int = 50_000, local: bool = False) -> InstallItem:
    digest = hashlib.sha256(f"{name}-{version}".encode()).hexdigest()
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    if local:
        return InstallItem(
            name=canonicalize_name(name), version=version, source=Source(kind="directory", path=f"packages/{name}"), choice="build"
        )
    return InstallItem(
        name=canonicalize_name(name),
        version=version,
        source=Source(kind="registry", url="https://pypi.org/simple"),
        choice="wheel",
        wheel=LockedFile(kind="wheel", filename=filename, url=f"https://files.example/{filename}", hashes=(f"sha256:{digest}",), size=size),
        hashes=(f"sha256:{digest}",),
    )


def install_set(*items: InstallItem, python: str = "3.11") -> InstallSet:
    return InstallSet(
        target=make_target(python=python),
        project=canonicalize_name("app"),
        lock_format="uv",
        items=tuple(sorted(items, key=lambda i: i.name)),
    )
