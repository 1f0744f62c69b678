"""The shape of the code (docs/design.md): two stacks that meet only in the back ends.

    front ends        cli, setuptools_cmd (and hatch_layers, a package of its own)
    back ends         containerize, dockerfile, sbom, provenance
    resolution        options + base image -> target -> the resolved build
    packaging stack   project -> lockfiles -> target -> selection -> plan -> plugins
                      -> fetch -> planning -> materialize -> install
    OCI stack         image -> registry -> transports
    plumbing          cache (the one store), http, warm (warm processes: the build daemon)
    basics            errors, _toml, _units, console, events, progress, oci (types), reproducible

Within a stack, a module imports only modules at or below its own level; the packaging
and OCI stacks never import each other; nothing imports a front end. So data flows one
way and each stage can be tested alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "layerplan"
# stack -> its levels, lowest first; names on one level may import each other
STACKS: dict[str, list[list[str]]] = {
    "basics": [["errors", "_toml", "_toml_split", "_units", "console", "events", "progress", "oci", "reproducible", "urls", "__init__"]],
    "plumbing": [["cache", "http", "warm"]],
    "packaging": [
        ["project"], ["lockfiles"], ["target"], ["selection"], ["plan"], ["plugins"],
        ["fetch"], ["planning"], ["materialize"], ["install"],
    ],
    "oci": [["image"], ["registry"], ["transports"]],
    "resolution": [["resolution"]],
    "back ends": [["containerize", "dockerfile", "sbom", "provenance"]],
    "front ends": [["cli", "setuptools_cmd", "__main__"]],
}
STACK_RANK = {"basics": 0, "plumbing": 1, "packaging": 2, "oci": 2, "resolution": 3, "back ends": 4, "front ends": 5}
PLACE = {name: (stack, level) for stack, levels in STACKS.items() for level, names in enumerate(levels) for name in names}
TYPE_ONLY = {"hookspecs"}  # names plugin types under TYPE_CHECKING only


def allowed(importer: str, imported: str) -> bool:
    (stack, level), (other_stack, other_level) = PLACE[importer], PLACE[imported]
    if stack == other_stack:
        return other_level <= level
    return STACK_RANK[other_stack] < STACK_RANK[stack]


def test_every_module_has_a_place() -> None:
    stages = {path.relative_to(SRC).parts[0].removesuffix(".py") for path in SRC.rglob("*.py")}
    assert stages - TYPE_ONLY <= set(PLACE), f"place {sorted(stages - TYPE_ONLY - set(PLACE))} in STACKS (docs/design.md)"


def test_imports_follow_the_shape() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        stage = path.relative_to(SRC).parts[0].removesuffix(".py")
        if stage in TYPE_ONLY:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("layerplan."):
                other = node.module.split(".")[1]
                if other in PLACE and not allowed(stage, other):
                    wrong.append(f"{path.relative_to(SRC)}:{node.lineno} ({PLACE[stage][0]}) imports {node.module} ({PLACE[other][0]})")
    assert wrong == []


def test_the_rules_themselves() -> None:
    assert not allowed("image", "target"), "the OCI stack knows nothing of Python targets"
    assert not allowed("plan", "image"), "the packaging stack knows nothing of images"
    assert allowed("resolution", "image") and allowed("resolution", "target")
    assert not allowed("resolution", "containerize")
    assert not allowed("project", "plan") and allowed("plan", "project")


def test_the_resolution_package_lists_what_it_loads() -> None:
    """``layerplan.resolution`` loads its names lazily: each one must be in ``__all__``
    and importable from the module the table names."""
    import layerplan.resolution as resolution

    assert sorted(resolution.__all__) == sorted(resolution._MODULES)
    for name in resolution.__all__:
        assert getattr(resolution, name) is not None
