"""A registry output with several tags: ``docker://REF:1.4.0,latest``."""

from __future__ import annotations

import pytest

from layerplan.errors import ConfigError
from layerplan.transports import Registry, parse_output


def test_more_tags_after_the_first() -> None:
    sink = parse_output("docker://ghcr.io/org/app:1.4.0,latest")
    assert isinstance(sink, Registry)
    assert str(sink.reference) == "ghcr.io/org/app:1.4.0" and sink.tags == ("1.4.0", "latest")
    assert str(sink) == "docker://ghcr.io/org/app:1.4.0,latest"
    assert sink.with_tags(["stable", "latest"]).tags == ("1.4.0", "latest", "stable")


def test_no_first_tag_is_the_version_then_the_others() -> None:
    sink = parse_output("docker://ghcr.io/org/app,latest")
    assert isinstance(sink, Registry) and sink.tag_implied
    tagged = sink.tagged("2.0")
    assert tagged.tags == ("2.0", "latest") and str(tagged) == "docker://ghcr.io/org/app:2.0,latest"
    assert not tagged.tag_implied


@pytest.mark.parametrize("spec", ["docker://ghcr.io/org/app:1,other/app:2", "docker://ghcr.io/org/app:1,", "docker://ghcr.io/org/app:1,-x"])
def test_a_bad_extra_tag_is_refused(spec: str) -> None:
    with pytest.raises(ConfigError, match="invalid tag"):
        parse_output(spec)
