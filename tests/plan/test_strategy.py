"""The default strategy's promises: order, stable keys, one layer per bump, the budget."""

from __future__ import annotations

import pytest

from layerplan.errors import ConfigError
from layerplan.plan.config import PlanConfig
from layerplan.plan.strategy import StrategyInput, default_strategy, group_of
from tests.plan.factories import install_set, item

BIG = 20 * 1024 * 1024
SMALL_NAMES = ["attrs", "certifi", "charset-normalizer", "click", "idna", "packaging", "requests", "six", "urllib3", "zipp"]


def plan(*items, config: PlanConfig | None = None, app_digest: str = "a" * 64, version: str = "1.0"):
    return default_strategy(
        StrategyInput(
            install_set=install_set(*items),
            config=config or PlanConfig(),
            project_name="app",
            project_version=version,
            app_digest=app_digest,
        )
    )


def base_items(**bumps: str):
    items = [item(name, bumps.get(name, "1.0")) for name in SMALL_NAMES]
    items.append(item("numpy", bumps.get("numpy", "2.2.6"), size=BIG))
    items.append(item("greeting", local=True))
    return items


def test_layer_order_is_stable_first() -> None:
    layers = plan(*base_items()).layers
    kinds = [layer.kind for layer in layers]
    assert kinds[0] == "environment"
    assert kinds[-3:] == ["local", "app", "config"]
    assert set(kinds[1:-3]) == {"dependencies"}
    names = [layer.name for layer in layers]
    assert "dep-numpy" in names  # the big wheel sits alone
    assert layers[names.index("dep-numpy")].packages[0].name == "numpy"
    grouped = [p.name for layer in layers if layer.name.startswith("deps-") for p in layer.packages]
    assert sorted(grouped) == sorted(SMALL_NAMES)
    assert all(layer.reason for layer in layers)


def test_a_small_bump_changes_exactly_one_dependency_layer() -> None:
    before = {layer.name: layer.key for layer in plan(*base_items()).layers}
    after = {layer.name: layer.key for layer in plan(*base_items(idna="3.10")).layers}
    changed = [name for name in before if before[name] != after[name]]
    assert changed == [f"deps-{group_of('idna', 4) + 1}-of-4"]


def test_a_big_bump_changes_only_its_own_layer() -> None:
    before = {layer.name: layer.key for layer in plan(*base_items()).layers}
    after = {layer.name: layer.key for layer in plan(*base_items(numpy="2.3.0")).layers}
    assert [name for name in before if before[name] != after[name]] == ["dep-numpy"]


def test_project_version_and_code_change_only_the_app_layer() -> None:
    before = {layer.name: layer.key for layer in plan(*base_items()).layers}
    bumped = {layer.name: layer.key for layer in plan(*base_items(), version="2.0").layers}
    edited = {layer.name: layer.key for layer in plan(*base_items(), app_digest="b" * 64).layers}
    assert [name for name in before if before[name] != bumped[name]] == ["app"]
    assert [name for name in before if before[name] != edited[name]] == ["app"]


def test_adding_a_package_touches_one_group() -> None:
    before = {layer.name: layer.key for layer in plan(*base_items()).layers}
    after = {layer.name: layer.key for layer in plan(*base_items(), item("rich", "13.0")).layers}
    changed = [name for name in after if before.get(name) != after[name]]
    assert changed == [f"deps-{group_of('rich', 4) + 1}-of-4"]


def test_target_python_changes_every_file_layer() -> None:
    config = PlanConfig(venv="/opt/venv")
    a = {layer.name: layer.key for layer in plan(*base_items()).layers}
    b = {layer.name: layer.key for layer in plan(*base_items(), config=config).layers}
    assert all(a[name] != b[name] for name in a if name != "config")


def test_named_layer_groups_pin_packages_together() -> None:
    config = PlanConfig(layer_groups={"web": ("requests", "urllib3", "idna")})
    layers = plan(*base_items(), config=config)
    web = next(layer for layer in layers.layers if layer.name == "web")
    assert [p.name for p in web.packages] == ["idna", "requests", "urllib3"]
    assert layers.layers[1].name == "web"
    grouped = {p.name for layer in layers.layers if layer.name.startswith("deps-") for p in layer.packages}
    assert not grouped & {"requests", "urllib3", "idna"}


def test_layer_group_naming_an_absent_package_warns() -> None:
    output = plan(*base_items(), config=PlanConfig(layer_groups={"ml": ("torch",)}))
    assert any("torch" in warning for warning in output.warnings)


def test_budget_demotes_the_smallest_big_wheels() -> None:
    items = [item(f"big{i}", size=BIG + i) for i in range(6)] + [item("six")]
    output = plan(*items, config=PlanConfig(max_layers=6))
    file_layers = [layer for layer in output.layers if layer.kind != "config"]
    assert len(file_layers) <= 6
    singles = [layer.name for layer in output.layers if layer.name.startswith("dep-")]
    assert singles == ["dep-big3", "dep-big4", "dep-big5"]  # env + 3 big + 1 group + app = 6
    assert any("max-layers" in warning for warning in output.warnings)
    installed = sorted(p.name for layer in output.layers for p in layer.packages)
    assert installed == sorted([f"big{i}" for i in range(6)] + ["six"])


def test_budget_too_small_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="max-layers"):
        plan(*base_items(), config=PlanConfig(max_layers=3, layer_groups={"a": ("six",), "b": ("idna",)}))
