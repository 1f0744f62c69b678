"""``selection.wheels``: a wheel's tags are what ``parse_wheel_filename`` gives (parsed
once per distinct part of the file name), and none for a name it refuses."""

from __future__ import annotations

import pytest
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from layerplan.lockfiles.model import LockedFile
from layerplan.selection.wheels import _wheel_tags


@pytest.mark.parametrize(
    "filename",
    [
        "attrs-25.3.0-py3-none-any.whl",
        "numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "six-1.0-1build-py2.py3-none-any.whl",
        "six-1.0-x1-py3-none-any.whl",
        "six-1.0-py3-none.whl",
        "six-1.0-py3--any.whl",
        "six-1.0-3py-none-any.whl",
        "six__x-1.0-py3-none-any.whl",
        "six-one-py3-none-any.whl",
        "Six_Name-1.0-py3-none-any.whl",
        "six-1.0-py3-none-any.tar.gz",
        "six-1.0-1-2-py3-none-any.whl",
        "six-1.0.0.dev0+local.7-py3-none-any.whl",
        "six-1.0_rc1-py3-none-any.whl",
        "six-1.0..0-py3-none-any.whl",
        "s\u00e9x-1.0-py3-none-any.whl",
        "six.x-1.0-py3-none-any.whl",
        "-1.0-py3-none-any.whl",
    ],
)
def test_tags_as_packaging_parses_them(filename: str) -> None:
    try:
        expected = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        expected = frozenset()
    assert _wheel_tags(LockedFile(kind="wheel", filename=filename)) == expected
