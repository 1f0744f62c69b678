"""The image's ``org.opencontainers.image.*`` labels (and manifest annotations): what the
project says about itself, where its source is, when and from what base it was made.

Every URL goes through ``urls.public_url``: a label is public, a CI clone's token is not.
The base's own ``org.opencontainers.image.*`` labels describe the base, not the app: the
config drops them (``BASE_LABELS_NOT_INHERITED``) and ``base.name``/``base.digest`` say
what the base was.
"""

from __future__ import annotations

from layerplan.image.config import rfc3339
from layerplan.project import Project
from layerplan.project.git import GitSource
from layerplan.resolution.base import BaseImage
from layerplan.urls import public_url

__all__ = ["OCI_PREFIX", "describe_image"]

OCI_PREFIX = "org.opencontainers.image."


def describe_image(
    app: Project, *, version: str | None, git: GitSource | None, created: int, base: BaseImage | None = None
) -> dict[str, str]:
    """The OCI keys (without the ``org.opencontainers.image.`` prefix) for ``app``:
    ``title``, ``description``, ``version``, ``licenses`` (an SPDX expression), ``url``
    (Homepage, else Documentation, else the source), ``source`` (git's ``origin``, else
    the project's Source/Repository URL), ``revision`` (HEAD), ``created`` (RFC 3339),
    ``base.name`` (a registry base's reference) and ``base.digest``. Keys without a value
    are left out."""
    about = app.about
    declared_source = about.url("Source", "Repository", "Source Code", "Code")
    source = git.remote if git is not None and git.remote else declared_source
    url = about.url("Homepage", "Home", "Documentation") or source
    out = {
        "title": app.display_name,
        "description": about.description,
        "version": version,
        "licenses": about.license,
        "url": public_url(url) if url else None,
        "source": public_url(source) if source else None,
        "revision": git.commit if git is not None else None,
        "created": rfc3339(created),
    }
    if base is not None:
        # a local base's path differs between machines: not an image reference
        out["base.name"] = base.name if base.reference is not None else None
        out["base.digest"] = str(base.image.digest)
    return {key: value for key, value in out.items() if value}
