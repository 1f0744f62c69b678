"""Back end: the SLSA provenance of a built image, as an in-toto Statement v1."""

from layerplan.provenance.statement import BUILD_TYPE, BUILDER_ID, FILE_NAME, PREDICATE_TYPE, STATEMENT_TYPE, provenance_statement

__all__ = ["BUILDER_ID", "BUILD_TYPE", "FILE_NAME", "PREDICATE_TYPE", "STATEMENT_TYPE", "provenance_statement"]
