"""Software bills of materials: what an image (or a plan) installs, as CycloneDX 1.6 and
SPDX 2.3 JSON, built from the plan, the build report and the installed wheels' metadata.

``model.describe(plan, ...)`` gives the format-neutral ``SbomDocument``; ``model.render``
turns it into deterministic JSON bytes; ``referrers`` wraps those in OCI 1.1 artifact
manifests whose ``subject`` is the image.
"""
