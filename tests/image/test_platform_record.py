"""The base's platform record: one canonical document, read back only for the very base
and platform it was made for, every other shape refused with a reason."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from layerplan.image import platform_record
from layerplan.image.platform import DetectedPlatform
from layerplan.image.platform_record import PlatformRecordError, encode_record, parse_record
from layerplan.oci.digest import Digest

BASE = Digest.parse("sha256:" + "ab" * 32)
OTHER = Digest.parse("sha256:" + "cd" * 32)
CONFIG = {"os": "linux", "architecture": "amd64"}
PLATFORM = DetectedPlatform(
    os="linux", arch="amd64", variant=None, python_version="3.11.2", python_path="/usr/bin/python3.11",
    libc_family="glibc", libc_version="2.36",
)  # fmt: skip
LINKS = {"/bin": "usr/bin", "/usr/bin/python3": "python3.11", "/dev/stdin": "/proc/self/fd/0"}


def record(**change: Any) -> bytes:
    document = json.loads(encode_record(BASE, PLATFORM, LINKS))
    for key, value in change.items():
        if key.startswith("platform_"):
            document["platform"][key.removeprefix("platform_")] = value
        else:
            document[key] = value
    return json.dumps(document).encode()


def test_it_reads_back_what_was_written() -> None:
    data = encode_record(BASE, PLATFORM, LINKS)
    assert parse_record(data, base=BASE, config=CONFIG) == (PLATFORM, LINKS)
    # canonical: the same facts are the same bytes (and the same referrer digest) anywhere
    assert data == encode_record(BASE, dataclasses.replace(PLATFORM), dict(reversed(LINKS.items())))


def test_its_fields_are_the_scanners() -> None:
    assert platform_record._FIELDS == {field.name for field in dataclasses.fields(DetectedPlatform)}


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\xff{", "not JSON"),
        (b"[]", "not a JSON object"),
        (record(format=1), "unknown format '1'"),
        (record(format="layerplan.base-platform/2"), "unknown format"),
        (record(extra=True), "unexpected fields"),
        (record(base=str(OTHER)), f"it is about base {OTHER}"),
        (record(platform_arch="arm64"), "it says linux/arm64, the base's config linux/amd64"),
        (record(platform_python_version="banana"), "python_version"),
        (record(platform_python_path="usr/bin/python3"), "python_path must be an absolute path"),
        (record(platform_libc_family="bionic"), "libc_family"),
        (record(platform_libc_version=7), "libc_version must be a string or null"),
        (record(platform_secret="x"), "platform must be an object with exactly"),
        (record(symlinks={"bin": "usr/bin"}), "is not an absolute path"),
        (record(symlinks=["/bin"]), "symlinks must be an object"),
    ],
)
def test_anything_else_is_refused_with_a_reason(data: bytes, why: str) -> None:
    with pytest.raises(PlatformRecordError) as raised:
        parse_record(data, base=BASE, config=CONFIG)
    assert why in str(raised.value)


def test_a_record_for_another_variant_is_refused() -> None:
    arm = dataclasses.replace(PLATFORM, arch="arm64", variant="v8")
    data = encode_record(BASE, arm, LINKS)
    assert parse_record(data, base=BASE, config={"os": "linux", "architecture": "arm64", "variant": "v8"})[0] == arm
    with pytest.raises(PlatformRecordError):
        parse_record(data, base=BASE, config={"os": "linux", "architecture": "arm64"})
