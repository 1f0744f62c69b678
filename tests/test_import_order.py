"""The pipeline's stages import only downwards (docs/design.md): a lower stage never
imports a higher one, so data flows one way and each stage can be tested alone."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "layerplan"
# lowest first; modules on one line may import each other
ORDER = [
    ["errors", "_toml", "_units", "oci", "__init__"],
    ["http"],  # plumbing: session, retry policy and loop for fetch/ and registry/
    ["project"],
    ["lockfiles"],
    ["target"],
    ["selection"],
    ["plan"],
    ["plugins"],
    ["cache"],
    ["fetch"],
    ["planning"],
    ["install"],
    ["image"],
    ["registry"],
    ["transports"],
    ["containerize", "dockerfile"],
    ["cli", "setuptools_cmd", "__main__"],
]
RANK = {name: level for level, names in enumerate(ORDER) for name in names}
TYPE_ONLY = {"hookspecs"}  # names plugin types under TYPE_CHECKING only


def test_no_stage_imports_a_higher_one() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        stage = path.relative_to(SRC).parts[0].removesuffix(".py")
        if stage in TYPE_ONLY:
            continue
        assert stage in RANK, f"{stage} is not placed in ORDER (docs/design.md)"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("layerplan."):
                other = node.module.split(".")[1]
                if other in RANK and RANK[other] > RANK[stage]:
                    wrong.append(f"{path.relative_to(SRC)}:{node.lineno} imports {node.module}")
    assert wrong == []
