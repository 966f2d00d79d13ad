"""The whole chain in one call: Scenario -> LoadCurve -> FleetProblem -> FleetPlan.

Each stage is importable alone: ``scenario_curve`` (the demand), ``scenario_problem`` (the
problem, in ``planner.optimize.problem``), ``planned`` (the plan and its band report, in
``planner.optimize.bands``); ``run_plan`` runs them from a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planner.optimize.bands import planned
from planner.optimize.plan import FleetPlan
from planner.optimize.problem import scenario_curve, scenario_problem
from planner.scenario.load import Overrides, ScenarioFile, load_scenario

__all__ = ["planned", "run_plan", "scenario_curve", "scenario_problem"]


def run_plan(
    scenario: ScenarioFile | Path | str | None = None,
    overrides: Overrides | None = None,
    **plan_options: Any,
) -> FleetPlan:
    """Plan a scenario file (default: the embedded default scenario)."""
    sf = scenario if isinstance(scenario, ScenarioFile) else load_scenario(scenario, overrides)
    return planned(sf, scenario_problem(sf), **plan_options)
