"""Basic OCI types shared by every image stage: digests, descriptors, references, media types."""

from layerplan.oci.descriptor import Descriptor
from layerplan.oci.digest import Digest, canonical_json
from layerplan.oci.platform import Platform
from layerplan.oci.reference import ImageReference

__all__ = ["Descriptor", "Digest", "ImageReference", "Platform", "canonical_json"]
