"""Validation of a provenance with the in-toto attestation framework's own Python
bindings (``in-toto-attestation``, a test dependency): the statement and the SLSA
provenance v1 predicate are parsed into their protobuf messages strictly (an unknown
or mistyped field is an error), then the bindings' own checks run, and SLSA v1's
required fields are checked."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement


def assert_valid_provenance(data: bytes) -> dict[str, Any]:
    """The statement, once it validated."""
    document: dict[str, Any] = json.loads(data)
    statement = Statement.copy_from_pb(json_format.Parse(data.decode(), statement_pb2.Statement()))  # type: ignore[attr-defined]
    statement.validate()
    assert document["predicateType"] == "https://slsa.dev/provenance/v1"
    predicate = json_format.ParseDict(document["predicate"], provenance_pb2.Provenance())  # type: ignore[attr-defined]
    definition, run = predicate.build_definition, predicate.run_details
    assert definition.build_type and run.builder.id, "SLSA v1 requires buildType and builder.id"
    assert "externalParameters" in document["predicate"]["buildDefinition"], "SLSA v1 requires externalParameters"
    for dependency in definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(dependency).validate()
    for subject in document["subject"]:
        assert set(subject["digest"]) == {"sha256"} and len(subject["digest"]["sha256"]) == 64
    return document
