"""Read a plan file (``plan.json`` from ``planner plan --out``) and check it against a scenario.

plan.json holds the fleet (units per SKU) but not the dispatch arrays. The dispatch is
recomputed for that fleet: the scenario's problem with every SKU's units fixed at the plan's,
solved for ``max_tokens`` (serve what the fleet can, cheapest way), so a plan that is too
small for the scenario is validated as it is, with its unserved demand.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from planner.catalog.load import unknown_id_message
from planner.errors import ScenarioError
from planner.optimize.plan import FleetPlan
from planner.optimize.problem import FleetProblem


def read_plan_units(path: Path, problem: FleetProblem) -> tuple[dict[str, int], dict[str, Any]]:
    """(units per SKU, the raw document) of a plan file, checked against ``problem``."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"plan file not found: {path} (write one with `planner plan --out DIR`)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{path}: not a readable plan JSON document: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("fleet"), list):
        raise ScenarioError(f"{path}: a plan file needs a 'fleet' list (the plan.json of `planner plan --out`)")
    problems: list[str] = []
    units: dict[str, int] = {}
    known = {s.id for s in problem.skus}
    plan_workloads: set[str] = set()
    for i, row in enumerate(doc["fleet"]):
        if not isinstance(row, dict) or "sku" not in row or "units" not in row:
            problems.append(f"fleet[{i}]: needs 'sku' and 'units'")
            continue
        sku, n = row["sku"], row["units"]
        if sku not in known:
            problems.append(f"fleet[{i}].sku: {unknown_id_message('SKU', str(sku), known)} in the scenario")
            continue
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            problems.append(f"fleet[{i}].units ({sku}): {n!r} is not a whole number >= 0")
            continue
        units[sku] = n
        plan_workloads.update((row.get("throughput") or {}).keys())
    missing = sorted(known - set(units) - {str(r.get("sku")) for r in doc["fleet"] if isinstance(r, dict)})
    if missing:
        problems.append(f"fleet: the scenario's SKU(s) {', '.join(missing)} are missing from the plan")
    workloads = set(problem.workloads)
    stated = set((doc.get("unserved_tokens") or {}).keys()) | plan_workloads
    if stated and not stated <= workloads:
        problems.append(
            f"workloads: the plan serves {', '.join(sorted(stated - workloads))}, "
            f"not in the scenario's demand ({', '.join(problem.workloads)})"
        )
    span = doc.get("span_hours")
    if isinstance(span, (int, float)) and not math.isclose(span, problem.curve.span_hours, rel_tol=1e-6):
        problems.append(f"span_hours: the plan covers {span:g} h, the scenario's demand {problem.curve.span_hours:g} h")
    for s in problem.skus:
        if s.id in units and units[s.id] < s.min_units:
            problems.append(f"fleet ({s.id}): {units[s.id]} units, fewer than the {s.min_units} already deployed")
    if problems:
        raise ScenarioError(
            f"{path}: the plan does not match scenario '{problem.name}': {len(problems)} problem(s) found", problems
        )
    return units, doc


def plan_for_units(problem: FleetProblem, units: dict[str, int]) -> FleetPlan:
    """The plan of a fixed fleet: dispatch re-solved with units fixed (max_tokens, then cheapest)."""
    from planner.optimize.run import plan_fleet

    skus = tuple(replace(s, min_units=units[s.id], max_units=float(units[s.id])) for s in problem.skus)
    return plan_fleet(
        replace(
            problem,
            skus=skus,
            objective="max_tokens",
            power_cap_mw=None,
            budget_usd_per_hour=None,
            capex_budget_usd=None,
        ),
        explain=False,
    )
