"""``--offline``: every registry wheel, fetched and verified, for the context's ``wheels/``."""

from __future__ import annotations

from collections.abc import Sequence

from layerplan.dockerfile.errors import OfflineError
from layerplan.fetch import FetchedFile, Fetcher, WantedFile, tag_rank
from layerplan.selection.model import InstallItem
from layerplan.target.model import Target

__all__ = ["fetch_wheelhouse", "wanted_wheel"]


def wanted_wheel(item: InstallItem, target: Target) -> WantedFile:
    """The wheel of registry ``item`` that pip will install on ``target``.

    Raise ``OfflineError`` for a package without a wheel for the target: pip would build
    it from source, and its build requirements would come from the index.
    """
    if item.choice == "none":
        raise OfflineError(
            f"{item.name} {item.version or ''}: no wheel for {target.describe()} ({item.note or 'sdist only'}), "
            "so pip must build it in the image, with build requirements from the index".replace("  ", " "),
            hint="drop --offline, or pin a version that ships a wheel for the target",
        )
    rank = tag_rank(target.wheel_tags())
    wheel = item.wheel
    if wheel is not None and wheel.url:
        return WantedFile.from_url(str(item.name), wheel.url, wheel.hashes, size=wheel.size, filename=wheel.filename)
    if wheel is not None:
        return WantedFile.from_index(
            str(item.name), item.version, wheel.hashes, filename=wheel.filename, index=item.index, rank=rank
        )
    return WantedFile.from_index(str(item.name), item.version, item.hashes, index=item.index, rank=rank)


def fetch_wheelhouse(items: Sequence[InstallItem], target: Target, fetcher: Fetcher) -> dict[str, FetchedFile]:
    """``name -> verified wheel`` for every registry item (raises ``FetchError``, ``OfflineError``)."""
    wanted = [wanted_wheel(item, target) for item in items]
    fetched = fetcher.fetch(wanted)
    return {str(item.name): file for item, file in zip(items, fetched, strict=True)}
