"""A direct build gives the same layers whatever lockfile format the resolution came in.

uv.lock and pylock.toml give each wheel's URL; poetry.lock only its file name (looked
up on the index); requirements.txt only its hashes (looked up, chosen by tag). The
bytes of every layer must not depend on that. No engine: built on the synthetic base.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from synthbase import SyntheticBase

from tests.direct_build.helpers import ROOT, build_json

BASIC = ROOT / "tests" / "fixtures" / "locks" / "basic"


def test_every_lock_format_builds_the_same_layers(tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    base_image = synthetic_base.specs["oci"]
    project = tmp_path / "basic"
    shutil.copytree(BASIC, project)
    cache = tmp_path / "cache"
    digests: dict[str, dict[str, str]] = {}
    for lock in ("uv.lock", "pylock.toml", "poetry.lock", "requirements.txt"):
        report = build_json(project, base_image, f"oci:{tmp_path / lock}", cache=cache, extra=("--lock", str(project / lock)))
        digests[lock] = {layer["name"]: layer["digest"] for layer in report["layers"] if layer["status"] != "base"}
    reference = digests.pop("uv.lock")
    assert "dep-numpy" in reference
    for lock, layers in digests.items():
        assert layers == reference, lock
