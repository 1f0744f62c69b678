"""[tool.layerplan] validation: wrong options are named with their full TOML key."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerplan.errors import ConfigError
from layerplan.plan.config import PlanConfig, parse_size, read_config


def test_defaults_and_values() -> None:
    config = read_config(
        {
            "python": "3.11",
            "max-layers": 20,
            "large-wheel-size": "4MiB",
            "user": 1000,
            "layer-groups": {"ml": ["NumPy", "scipy"]},
            "entrypoint": "serve",
        }
    )
    assert config.python == "3.11"
    assert config.max_layers == 20
    assert config.large_wheel_size == 4 * 1024 * 1024
    assert config.user == "1000:1000"
    assert config.layer_groups == {"ml": ("numpy", "scipy")}
    assert config.entrypoint == ("serve",)
    assert read_config({}) == PlanConfig()


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        ({"max-layer": 3}, "tool.layerplan.max-layer", "unknown option"),
        ({"max-layers": "many"}, "tool.layerplan.max-layers", "an integer from 3 to 100"),
        ({"max-layers": 500}, "tool.layerplan.max-layers", "an integer from 3 to 100"),
        ({"venv": "app/.venv"}, "tool.layerplan.venv", "an absolute path"),
        ({"venv": "/app/../etc"}, "tool.layerplan.venv", "an absolute path"),
        ({"user": "app"}, "tool.layerplan.user", "numeric"),
        ({"large-wheel-size": "big"}, "tool.layerplan.large-wheel-size", "a size"),
        ({"layer-groups": {"ML": ["x"]}}, "tool.layerplan.layer-groups", "lowercase"),
        ({"extras": "web"}, "tool.layerplan.extras", "a list"),
        ({"compile-bytecode": "yes"}, "tool.layerplan.compile-bytecode", "true or false"),
        ({"venv": "/"}, "tool.layerplan.venv", "would replace the base's"),
        ({"venv": "/app//x"}, "tool.layerplan.venv", "an absolute path"),
        ({"workdir": "/app\x00x"}, "tool.layerplan.workdir", "an absolute path"),
        ({"workdir": "/a\nb"}, "tool.layerplan.workdir", "an absolute path"),
        ({"user": 2**40}, "tool.layerplan.user", "ids go up to 4294967294"),
        ({"user": "1000:99999999999"}, "tool.layerplan.user", "ids go up to"),
        ({"env": {"": "x"}}, "tool.layerplan.env", "not a usable environment variable name"),
        ({"env": {"A=B": "x"}}, "tool.layerplan.env", "not a usable environment variable name"),
        ({"labels": {"": "x"}}, "tool.layerplan.labels", "not a usable label name"),
        ({"layer-groups": {"a": ["numpy"], "b": ["NumPy"]}}, "tool.layerplan.layer-groups", "in both 'a' and 'b'"),
    ],
)
def test_bad_options_name_the_key(table: dict[str, object], key: str, message: str) -> None:
    text = "[tool.layerplan]\n" + "\n".join(f"{k} = 1" for k in table)
    with pytest.raises(ConfigError) as info:
        read_config(table, Path("pyproject.toml"), text)
    assert info.value.key == key
    assert message in str(info.value)
    assert str(info.value).startswith("pyproject.toml:2 ")
    assert "\n" not in str(info.value)


def test_parse_size() -> None:
    assert parse_size(10) == 10
    assert parse_size("10 MB") == 10_000_000
    assert parse_size("1.5KiB") == 1536
    with pytest.raises(ValueError):
        parse_size(True)


def test_the_documented_example_is_valid() -> None:
    """docs/configuration.md's full example must stay a valid configuration."""
    import tomli

    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    block = doc.split("```toml", 1)[1].split("```", 1)[0]
    config = read_config(tomli.loads(block)["tool"]["layerplan"])
    assert config.layer_groups == {"ml": ("numpy", "scipy", "scikit-learn")}
    assert config.large_wheel_size == 8 * 1024 * 1024
