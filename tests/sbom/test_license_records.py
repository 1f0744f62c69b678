"""The licenses an SBOM read are remembered in the cache by what was read (a wheel's
sha256, a layer's digest and the packages looked for): a rebuild reads neither again,
and a record that is not one of ours is read as none (the licenses are read again and
the record written again)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from layerplan.cache.store import Store
from layerplan.image.model import Layer, bytes_opener
from layerplan.oci.descriptor import Descriptor, MediaType
from layerplan.oci.digest import Digest
from layerplan.sbom.license_records import LicenseRecords
from layerplan.sbom.model import License

METADATA = "Metadata-Version: 2.4\nName: {name}\nVersion: 1.0\nLicense-Expression: {license}\n"


def make_wheel(path: Path, name: str, license: str) -> str:
    """A wheel with its METADATA; its sha256."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(f"{name}-1.0.dist-info/METADATA", METADATA.format(name=name, license=license))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_layer(packages: dict[str, str]) -> Layer:
    """An uncompressed layer holding each package's installed METADATA."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, license in sorted(packages.items()):
            data = METADATA.format(name=name, license=license).encode()
            info = tarfile.TarInfo(f"app/.venv/lib/python3.12/site-packages/{name}-1.0.dist-info/METADATA")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = out.getvalue()
    digest = Digest.of_bytes(data)
    return Layer(
        descriptor=Descriptor(media_type=MediaType.OCI_LAYER_TAR, digest=digest, size=len(data)),
        diff_id=digest, opener=bytes_opener(data),
    )  # fmt: skip


def test_a_wheel_is_read_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    sha = make_wheel(wheel, "demo", "mit")
    assert LicenseRecords(store.licenses).wheel(sha, wheel) == License(value="MIT", expression=True)
    wheel.unlink()  # the record answers now
    assert LicenseRecords(store.licenses).wheel(sha, wheel) == License(value="MIT", expression=True)


def test_a_wheel_without_a_license_is_remembered_too(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    wheel = tmp_path / "bare-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("bare-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: bare\nVersion: 1.0\n")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert LicenseRecords(store.licenses).wheel(sha, wheel) is None
    assert len(list(store.licenses.area.under(store.root).iterdir())) == 1


@pytest.mark.parametrize(
    "garbage",
    [b"", b"{", b"not json", b"[]", b'{"format": 1}', b'{"format": 2, "licenses": {}}',
     b'{"format": 1, "licenses": {"": ["MIT"]}}', b'{"format": 1, "licenses": {"": [1, true]}}', b"\xff\xfe"],
)  # fmt: skip
def test_a_corrupt_record_is_read_again_and_rewritten(tmp_path: Path, garbage: bytes) -> None:
    store = Store(tmp_path / "cache")
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    sha = make_wheel(wheel, "demo", "Apache-2.0")
    LicenseRecords(store.licenses).wheel(sha, wheel)
    (record,) = store.licenses.area.under(store.root).iterdir()
    good = record.read_bytes()
    record.write_bytes(garbage)
    assert LicenseRecords(store.licenses).wheel(sha, wheel) == License(value="Apache-2.0", expression=True)
    assert record.read_bytes() == good


def test_another_wheel_has_another_record(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    one, two = tmp_path / "one-1.0-py3-none-any.whl", tmp_path / "two-1.0-py3-none-any.whl"
    sha_one, sha_two = make_wheel(one, "one", "MIT"), make_wheel(two, "two", "BSD-3-Clause")
    records = LicenseRecords(store.licenses)
    assert records.wheel(sha_one, one) == License(value="MIT", expression=True)
    assert records.wheel(sha_two, two) == License(value="BSD-3-Clause", expression=True)


def test_a_layer_is_read_once_per_packages_looked_for(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    layer = make_layer({"alpha": "MIT", "beta": "ISC"})
    records = LicenseRecords(store.licenses)
    both = {"alpha": License(value="MIT", expression=True), "beta": License(value="ISC", expression=True)}
    assert records.layer(layer, ["alpha", "beta"]) == both
    unreadable = Layer(descriptor=layer.descriptor, diff_id=layer.diff_id, opener=bytes_opener(b"not a tar"))
    assert records.layer(unreadable, ["beta", "alpha"]) == both, "the record answers, in any order"
    assert records.layer(make_layer({"alpha": "0BSD"}), ["alpha"]) == {"alpha": License(value="0BSD", expression=True)}
