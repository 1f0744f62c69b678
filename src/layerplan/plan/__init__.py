"""Stage 5: split an install set into ordered layers, each with a key and a reason.

Modules: ``config`` (every option, its default and its check), ``model`` (``LayerPlan``,
``PlannedLayer``, keys), ``strategy`` (the default strategy), ``planner`` (``make_plan``),
``diff`` (``diff_plans``). Import from them: this package imports nothing, so reading the
options (``plan.config``) does not load the planner and its plugins.
"""
