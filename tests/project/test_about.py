"""What a project says about itself, for the image's labels: description, license (PEP 639
or PEP 621 table, Poetry's), URLs."""

from __future__ import annotations

from typing import Any

import pytest

from layerplan.project.about import read_about
from layerplan.reproducible import parse_created


@pytest.mark.parametrize(
    ("license", "expected"),
    [
        ("MIT", "MIT"),
        ("mit or apache-2.0", "MIT OR Apache-2.0"),  # normalized as PEP 639 says
        ({"text": "BSD-3-Clause"}, "BSD-3-Clause"),
        ({"text": "Copyright (c) me, all rights reserved"}, None),  # free text: no SPDX license
        ({"file": "LICENSE"}, None),
        ({"text": "MIT\nPermission is hereby granted..."}, None),
        (42, None),
    ],
)
def test_the_license_is_an_spdx_expression_or_nothing(license: Any, expected: str | None) -> None:
    assert read_about({"license": license}, {}).license == expected


def test_urls_by_label_as_pep_753_compares_them() -> None:
    about = read_about({"urls": {"Home-Page": "https://a.example", "source_code": "https://b.example"}}, {})
    assert about.url("Homepage") == "https://a.example"
    assert about.url("Source", "Source Code") == "https://b.example"
    assert about.url("Documentation") is None


def test_poetry_tables_fill_what_project_lacks() -> None:
    poetry = {"description": "from poetry", "license": "Apache-2.0", "homepage": "https://h.example", "repository": "https://r.example"}
    about = read_about({}, poetry)
    assert (about.description, about.license) == ("from poetry", "Apache-2.0")
    assert about.url("Homepage") == "https://h.example" and about.url("Repository") == "https://r.example"
    assert read_about({"description": "own"}, poetry).description == "own"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1700000000", 1700000000),
        ("2023-11-14T22:13:20Z", 1700000000),
        ("2023-11-15T00:13:20+02:00", 1700000000),
        ("now", 1234),
    ],
)
def test_created_accepts_rfc3339_seconds_and_now(text: str, seconds: int) -> None:
    assert parse_created(text, now=1234.5) == seconds


@pytest.mark.parametrize("text", ["2023-11-14T22:13:20", "yesterday", "1969-12-31T23:59:59Z", "-5"])
def test_created_refuses_what_is_not_one_instant(text: str) -> None:
    with pytest.raises(ValueError):
        parse_created(text)
