"""An in-toto Statement v1 whose predicate is SLSA provenance v1: what was built (the
image's manifest digest), how (layerplan's build type and the options that decide the
image), from what (the lock, the base by digest, the source commit, every locked file).

Deterministic, as the SBOM is: no clock and no invocation id, so the same build states
the same bytes and a rebuild pushes nothing new. ``startedOn``/``finishedOn`` and
``invocationId`` are optional in SLSA v1 and left out; the image's own ``created`` is in
``internalParameters``. Every URL is credential-free (``urls.public_url``), so a CI token
in a git remote or an index URL never gets into it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from layerplan import __version__
from layerplan.oci.digest import Digest, canonical_json

__all__ = ["BUILDER_ID", "BUILD_TYPE", "FILE_NAME", "PREDICATE_TYPE", "STATEMENT_TYPE", "provenance_statement"]

FILE_NAME = "provenance.intoto.json"
"""Its title, and the suffix of the file written beside an ``oci:``/``oci-archive:`` output."""

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:layerplan:buildtype:direct:v1"
"""What ``externalParameters`` and ``internalParameters`` mean (docs/supply-chain.md).
A URN: layerplan has no web address of its own to point a URL at."""
BUILDER_ID = "urn:layerplan:builder:self-hosted"
"""The statement is made by the build itself, wherever it runs (SLSA Build L1): no build
platform vouches for it. Signing it (``cosign attest``) adds the CI's identity."""


def provenance_statement(
    *,
    subject_name: str,
    subject_digest: Digest,
    external: Mapping[str, Any],
    internal: Mapping[str, Any],
    dependencies: Sequence[Mapping[str, Any]],
) -> bytes:
    """The canonical JSON of the statement about the image ``subject_digest``.

    ``external``: the options the user chose (SLSA ``externalParameters``);
    ``internal``: what layerplan decided itself (``internalParameters``);
    ``dependencies``: in-toto ResourceDescriptors (``name``/``uri``/``digest``...).
    """
    document = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject_name, "digest": {subject_digest.algorithm: subject_digest.hex}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": dict(external),
                "internalParameters": dict(internal),
                "resolvedDependencies": [dict(d) for d in dependencies],
            },
            "runDetails": {
                "builder": {"id": BUILDER_ID, "version": {"layerplan": __version__}},
                "metadata": {},
            },
        },
    }
    return canonical_json(document)
