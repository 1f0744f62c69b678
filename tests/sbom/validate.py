"""Validation of SBOM bytes with each format's own Python library (test dependencies)."""

from __future__ import annotations

import json
from pathlib import Path

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document


def assert_valid_cyclonedx(data: bytes) -> None:
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(data.decode())
    assert errors is None, errors


def assert_valid_spdx(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "doc.spdx.json"
    path.write_bytes(data)
    document = parse_file(str(path))
    messages = validate_full_spdx_document(document)
    assert messages == [], [m.validation_message for m in messages]
    json.loads(data)
