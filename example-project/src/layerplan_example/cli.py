"""The ``layerplan-example`` command: use every dependency once and print one checkable line."""

from __future__ import annotations

import click
import humanize
import numpy
import pydantic

from greeting import greet


class User(pydantic.BaseModel):
    name: str
    scores: list[float]


def summary(name: str) -> str:
    """Return the line the command prints; the same on every machine for one set of versions."""
    user = User.model_validate({"name": name, "scores": ["1", 2, 3.0, 4]})
    mean = float(numpy.asarray(user.scores).mean())
    return (
        f"layerplan-example ok: numpy={numpy.__version__} mean={mean:g} "
        f"pydantic={pydantic.VERSION} validated={user.name} "
        f"greeting={greet(user.name)!r} size={humanize.naturalsize(1000)!r}"
    )


@click.command()
@click.option("--name", default="alice", show_default=True, help="Who to validate and greet.")
def main(name: str) -> None:
    """Print one line that proves numpy, pydantic, click, humanize and greeting all import and work."""
    click.echo(summary(name))


if __name__ == "__main__":
    main()
