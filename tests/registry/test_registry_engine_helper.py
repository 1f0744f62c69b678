"""tests/engine.py: skip with a how-to where the engine is missing, fail where it is required."""

from __future__ import annotations

import socket

import engine
import pytest


@pytest.fixture
def no_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("LAYERPLAN_TEST_REGISTRY", f"127.0.0.1:{port}")
    monkeypatch.setenv("LAYERPLAN_TEST_ENGINE_AUTOSTART", "0")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("LAYERPLAN_REQUIRE_ENGINE", raising=False)


def test_missing_registry_skips_with_how_to_enable(no_registry: None) -> None:
    with pytest.raises(pytest.skip.Exception) as caught:
        engine.get_registry()
    assert "scripts/test-engine.sh start" in str(caught.value)


@pytest.mark.parametrize("variable, value", [("CI", "true"), ("LAYERPLAN_REQUIRE_ENGINE", "1")])
def test_missing_registry_fails_where_required(
    no_registry: None, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(pytest.fail.Exception) as caught:
        engine.get_registry()
    assert "engine tests are required" in str(caught.value)
