"""``lockfiles._fast``: the readers' positional constructors make the model's own values."""

from __future__ import annotations

import dataclasses

import pytest
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName

from layerplan.lockfiles._fast import dependency, locked_file, locked_package
from layerplan.lockfiles.model import Dependency, LockedFile, LockedPackage, Source


def test_same_values_as_the_dataclasses() -> None:
    file = locked_file("wheel", "a-1-py3-none-any.whl", "https://x/a-1-py3-none-any.whl", ("sha256:00",), 3)
    assert file == LockedFile(
        kind="wheel", filename="a-1-py3-none-any.whl", url="https://x/a-1-py3-none-any.whl", hashes=("sha256:00",), size=3
    )
    edge = dependency(NormalizedName("b"), ("x",), Marker("python_version > '3'"), "1.0", SpecifierSet(">=1"))
    assert edge == Dependency(
        name=NormalizedName("b"), extras=("x",), marker=Marker("python_version > '3'"), version="1.0", specifier=SpecifierSet(">=1")
    )
    assert dependency(NormalizedName("c")) == Dependency(name=NormalizedName("c"))
    source = Source(kind="registry", url="https://pypi.org/simple")
    fields = dict(
        name=NormalizedName("a"), version="1", source=source, wheels=(file,), sdist=None, hashes=(), marker=None,
        dependencies=(edge,), optional_dependencies={"x": (edge,)}, dependency_groups={}, groups=("main",),
        index=source.url, line=7,
    )  # fmt: skip
    package = locked_package(**fields)  # type: ignore[arg-type]
    assert package == LockedPackage(**fields)  # type: ignore[arg-type]
    assert hash(file) == hash(LockedFile(**dataclasses.asdict(file)))


def test_still_frozen() -> None:
    file = locked_file("sdist", "a-1.tar.gz", None, (), None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        file.size = 1  # type: ignore[misc]
    assert type(file) is LockedFile
