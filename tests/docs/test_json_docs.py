"""docs/plan-json.md describes the document ``layerplan plan --json`` prints: its example
has the real document's fields, and its tables name every field a real plan has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from layerplan.cli.main import main
from tests.docs.markdown import code_spans, fenced_blocks, sections, table_rows

ROOT = Path(__file__).resolve().parents[2]
PLAN_JSON_MD = ROOT / "docs" / "plan-json.md"


@pytest.fixture(scope="module")
def real_plan() -> dict[str, Any]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["plan", str(ROOT / "example-project"), "--json"]) == 0
    document: dict[str, Any] = json.loads(out.getvalue())
    return document


def _documented_example() -> dict[str, Any]:
    (block,) = [b for b in fenced_blocks(PLAN_JSON_MD) if b.info == "json"]
    document: dict[str, Any] = json.loads("\n".join(text for _, text in block.lines))
    return document


def _fields_of_table(title: str) -> set[str]:
    (section,) = [s for s in sections(PLAN_JSON_MD) if s.title == title]
    return {span for _, cells in table_rows(section.lines) for span in code_spans(cells[0])}


def test_the_example_has_the_real_documents_fields(real_plan: dict[str, Any]) -> None:
    example = _documented_example()
    assert example.keys() == real_plan.keys()
    assert example["schema"] == real_plan["schema"]
    for key in ("project", "target", "lock", "settings"):
        assert example[key].keys() == real_plan[key].keys(), f"docs/plan-json.md: the fields of {key!r}"
    assert example["target"]["from"].keys() == real_plan["target"]["from"].keys()
    real_layer_fields = {field for layer in real_plan["layers"] for field in layer}
    assert {field for layer in example["layers"] for field in layer} == real_layer_fields


def test_the_tables_name_every_field_of_a_real_plan(real_plan: dict[str, Any]) -> None:
    layer_fields = _fields_of_table("`layers[]`")
    package_fields = {name.strip() for field in _fields_of_table("`packages[]`") for name in field.split(",")}
    missing_layer = {f for layer in real_plan["layers"] for f in layer} - layer_fields
    assert not missing_layer, f"docs/plan-json.md (`layers[]`) does not describe {sorted(missing_layer)}"
    missing_package = {f for layer in real_plan["layers"] for p in layer["packages"] for f in p} - package_fields
    assert not missing_package, f"docs/plan-json.md (`packages[]`) does not describe {sorted(missing_package)}"
