"""``--offline``: every registry wheel of the plan, fetched and verified, for the context's
``wheels/`` -- and, for a package the lock pins only as an sdist, the wheel layerplan builds
from it, as a direct build does (same store, same bytes): pip in the image then installs
that wheel, pinned by its hash, with no network and no compiler."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from layerplan.cache.built_wheels import BuiltWheels
from layerplan.cache.scratch import scratch_directory
from layerplan.dockerfile.errors import OfflineError
from layerplan.fetch import Fetcher
from layerplan.install.errors import ImpureWheelError
from layerplan.materialize import RemoteWheel
from layerplan.target.model import Target

__all__ = ["WheelhouseFile", "fetch_wheelhouse"]


@dataclass(frozen=True, kw_only=True, slots=True)
class WheelhouseFile:
    """One wheel of the context's ``wheels/``."""

    name: str
    path: Path
    filename: str
    sha256: str
    from_source: bool = False
    """Built by layerplan from the locked sdist: the requirements file pins *this* hash."""


def fetch_wheelhouse(
    remote: Sequence[RemoteWheel], target: Target, fetcher: Fetcher, *, built_wheels: BuiltWheels, indexes: Sequence[str]
) -> dict[str, WheelhouseFile]:
    """``name -> wheel`` for every registry package (raises ``FetchError``, ``BuildError``).

    A package with neither a wheel for the target nor a locked sdist is an
    ``OfflineError``: pip would have to find and build a source, with the network.
    """
    for wheel in remote:
        if wheel.wanted is None and wheel.sdist is None:
            item = wheel.item
            raise OfflineError(
                f"{item.name} {item.version or ''}: no wheel for {target.describe()} ({item.note or 'no file'}) "
                "and no locked sdist to build one from".replace("  ", " "),
                hint="drop --offline, or pin a version that ships a wheel or an sdist for the target",
            )
    binary = [wheel for wheel in remote if wheel.wanted is not None]
    source = [wheel for wheel in remote if wheel.wanted is None and wheel.sdist is not None]
    fetched = fetcher.fetch([*(w.wanted for w in binary if w.wanted), *(w.sdist for w in source if w.sdist)])
    out = {
        str(wheel.item.name): WheelhouseFile(name=str(wheel.item.name), path=file.path, filename=file.filename, sha256=file.sha256)
        for wheel, file in zip(binary, fetched[: len(binary)], strict=True)
    }
    from layerplan.install.sdist_wheel import wheel_from_sdist  # the builder: only for sdists

    for wheel, sdist in zip(source, fetched[len(binary) :], strict=True):
        item = wheel.item
        with scratch_directory(f"sdist-{item.name}") as scratch:
            try:
                built = wheel_from_sdist(
                    sdist.path, name=str(item.name), version=item.version, sha256=sdist.sha256, url=sdist.url,
                    store=built_wheels, indexes=indexes, scratch=Path(scratch),
                )
            except ImpureWheelError:
                raise OfflineError(
                    f"{item.name} {item.version or ''}: no wheel for {target.describe()}, and its sdist has compiled code, "
                    "so pip must build it in the image, with build requirements from the index".replace("  ", " "),
                    hint="drop --offline, or pin a version that ships a wheel for the target",
                ) from None
        out[str(wheel.item.name)] = WheelhouseFile(
            name=str(wheel.item.name), path=built.wheel, filename=built.wheel.name, sha256=built.wheel_sha256, from_source=True
        )
    return out
