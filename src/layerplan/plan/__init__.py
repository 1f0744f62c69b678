"""Stage 5: split an install set into ordered layers, each with a key and a reason."""

from layerplan.plan.config import PlanConfig, read_config
from layerplan.plan.diff import LayerChange, diff_plans
from layerplan.plan.model import PlannedLayer, LayerKind, LayerPlan
from layerplan.plan.planner import make_plan
from layerplan.plan.strategy import LayerStrategy, StrategyInput, StrategyOutput

__all__ = [
    "PlannedLayer",
    "LayerChange",
    "LayerKind",
    "LayerPlan",
    "LayerStrategy",
    "PlanConfig",
    "StrategyInput",
    "StrategyOutput",
    "diff_plans",
    "make_plan",
    "read_config",
]
