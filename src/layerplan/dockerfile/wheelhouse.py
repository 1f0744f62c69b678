"""``--offline``: every registry wheel of a layer, fetched and verified, for the context's ``wheels/``."""

from __future__ import annotations

from collections.abc import Sequence

from layerplan.dockerfile.errors import OfflineError
from layerplan.fetch import FetchedFile, Fetcher
from layerplan.materialize import RemoteWheel
from layerplan.target.model import Target

__all__ = ["fetch_wheelhouse"]


def fetch_wheelhouse(remote: Sequence[RemoteWheel], target: Target, fetcher: Fetcher) -> tuple[FetchedFile, ...]:
    """The verified wheel of every registry package, in order (raises ``FetchError``).

    A package without a wheel for the target is an ``OfflineError``: pip would build it
    from source, and its build requirements would come from the index.
    """
    for wheel in remote:
        if wheel.wanted is None:
            item = wheel.item
            raise OfflineError(
                f"{item.name} {item.version or ''}: no wheel for {target.describe()} ({item.note or 'sdist only'}), "
                "so pip must build it in the image, with build requirements from the index".replace("  ", " "),
                hint="drop --offline, or pin a version that ships a wheel for the target",
            )
    return fetcher.fetch([wheel.wanted for wheel in remote if wheel.wanted is not None])
