"""Read a plan file (``plan.json`` from ``planner plan --out``) and check it against a scenario.

plan.json holds the fleet (units per SKU) but not the dispatch arrays. When the
``dispatch.csv`` written beside it by ``planner plan --out`` is there, the plan's own dispatch
is read from it (``read_plan_dispatch``: it must cover every slice, workload and SKU of the
scenario and match its peak demand). Without it, the dispatch is recomputed for that fleet:
the scenario's problem with every SKU's units fixed at the plan's, solved for ``max_tokens``
(serve what the fleet can, cheapest way), so a plan that is too small for the scenario is
validated as it is, with its unserved demand.
"""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import JsonValue

import numpy as np

from planner.catalog.load import unknown_id_message
from planner.errors import ScenarioError
from planner.inputs import read_json
from planner.milp.evaluate import Dispatch
from planner.milp.problem import FleetProblem
from planner.milp.solve import SolverOptions
from planner.optimize.plan import FleetPlan


def read_plan_units(path: Path, problem: FleetProblem) -> tuple[dict[str, int], dict[str, JsonValue]]:
    """(units per SKU, the raw document) of a plan file, checked against ``problem``."""
    path = Path(path)
    doc = read_json(path, "plan file", "write one with `planner plan --out DIR`")
    if not isinstance(doc, dict) or not isinstance(doc.get("fleet"), list):
        raise ScenarioError(f"{path}: a plan file needs a 'fleet' list (the plan.json of `planner plan --out`)")
    from planner.doccheck import check_document

    check_document("plan", FleetPlan, {k: v for k, v in doc.items() if k != "fleet"}, str(path))  # fleet rows: below
    problems: list[str] = []
    units: dict[str, int] = {}
    known = {s.id for s in problem.skus}
    plan_workloads: set[str] = set()
    seen: set[str] = set()
    for i, row in enumerate(doc["fleet"]):
        if not isinstance(row, dict) or "sku" not in row or "units" not in row:
            problems.append(f"fleet[{i}]: needs 'sku' and 'units'")
            continue
        sku, n = row["sku"], row["units"]
        if not isinstance(sku, str):
            problems.append(f'fleet[{i}].sku: {sku!r} is not a SKU id (write the id as a string, e.g. "{min(known)}")')
            continue
        if sku in seen:
            problems.append(f"fleet[{i}].sku: {sku} appears twice (keep one row per SKU)")
            continue
        seen.add(sku)
        if sku not in known:
            problems.append(f"fleet[{i}].sku: {unknown_id_message('SKU', sku, known)} in the scenario")
            continue
        continuous = any(x.id == sku and x.continuous for x in problem.skus)  # on-demand GPUs: fractional units
        whole = isinstance(n, int) or (continuous and isinstance(n, float) and math.isfinite(n))
        if not whole or isinstance(n, bool) or n < 0:
            kind = "a number" if continuous else "a whole number"
            problems.append(f"fleet[{i}].units ({sku}): {n!r} is not {kind} >= 0")
            continue
        units[sku] = n
        throughput = row.get("throughput")
        if isinstance(throughput, dict):
            plan_workloads.update(throughput.keys())
    missing = sorted(known - set(units) - seen)
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
        if s.id in units and units[s.id] < s.min_units and s.decommission_usd_per_unit is None:
            problems.append(f"fleet ({s.id}): {units[s.id]} units, fewer than the {s.min_units} already deployed")
    if problems:
        raise ScenarioError(
            f"{path}: the plan does not match scenario '{problem.name}': {len(problems)} problem(s) found", problems
        )
    return units, doc


def plan_for_units(problem: FleetProblem, units: dict[str, int], solver: SolverOptions) -> FleetPlan:
    """The plan of a fixed fleet: dispatch re-solved with units fixed (max_tokens, then cheapest)."""
    from planner.optimize.run import plan_fleet

    def fixed(s):
        if s.decommission_usd_per_unit is not None and units[s.id] < s.min_units:
            return replace(s, max_units=float(units[s.id]))  # the plan decommissioned some: keep that cost
        return replace(s, min_units=units[s.id], max_units=float(units[s.id]), sku_max_units=math.inf)

    skus = tuple(fixed(s) for s in problem.skus)
    open_sites = tuple(
        replace(x, power_cap_mw=None, rack_positions=None, liquid_cooling_mw=None) for x in problem.sites
    )
    return plan_fleet(
        replace(
            problem,
            skus=skus,
            sites=open_sites,
            objective="max_tokens",
            power_cap_mw=None,
            budget_usd_per_hour=None,
            capex_budget_usd=None,
        ),
        solver,
        explain=False,
    )


def read_plan_dispatch(path: Path, problem: FleetProblem, units: dict[str, int]) -> Dispatch | None:
    """The dispatch in ``dispatch.csv`` beside the plan file ``path``; None when there is none.

    Every (slice, workload, SKU that serves it) of the scenario needs one row; the busy GPUs
    must fit in the plan's fleet and, with the unserved rate, add up to the scenario's peak
    demand (else the file was written for another scenario or fleet).
    """
    csv_path = Path(path).with_name("dispatch.csv")
    if not csv_path.is_file():
        return None
    fix = f"write it again with `planner plan --out`, or remove {csv_path} to re-solve the dispatch"
    need = {"hour", "workload", "sku", "busy_gpus_at_peak", "unserved_peak_tokens_per_s"}
    try:
        with csv_path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            missing_cols = need - set(reader.fieldnames or [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ScenarioError(f"{csv_path}: not a readable dispatch CSV: {exc}; {fix}") from None
    if missing_cols:
        raise ScenarioError(f"{csv_path}: missing column(s) {', '.join(sorted(missing_cols))}; {fix}")
    c = problem.curve
    theta = problem.throughput
    S, W, T = len(problem.skus), len(problem.workloads), len(c.start_hours)
    slice_of = {round(float(h), 6): t for t, h in enumerate(c.start_hours)}
    sku_of = {s.id: j for j, s in enumerate(problem.skus)}
    wl_of = {w: k for k, w in enumerate(problem.workloads)}
    busy = np.zeros((S, W, T))
    unserved = np.zeros((W, T))
    seen = np.zeros((S, W, T), dtype=bool)
    problems: list[str] = []
    for i, row in enumerate(rows, start=2):  # line numbers: the header is line 1
        try:
            hour = float(row["hour"])
            b = float(row["busy_gpus_at_peak"])
            u = float(row["unserved_peak_tokens_per_s"])
        except (TypeError, ValueError):
            problems.append(f"line {i}: hour, busy_gpus_at_peak and unserved_peak_tokens_per_s must be numbers")
            continue
        t, k, j = slice_of.get(round(hour, 6)), wl_of.get(row["workload"]), sku_of.get(row["sku"])
        if t is None or k is None or j is None:
            problems.append(
                f"line {i}: hour {hour:g}, workload '{row['workload']}', SKU '{row['sku']}' is not a slice, "
                "workload and SKU of the scenario"
            )
            continue
        if not (b >= 0 and math.isfinite(b) and u >= 0 and math.isfinite(u)):
            problems.append(f"line {i}: busy GPUs {b!r} and unserved rate {u!r} must be numbers >= 0")
            continue
        if seen[j, k, t]:
            problems.append(f"line {i}: hour {hour:g}, {row['workload']} on {row['sku']} appears twice")
            continue
        seen[j, k, t] = True
        busy[j, k, t] = b
        unserved[k, t] = u
    need_rows = theta[:, :, None] > 0
    if not problems and (need_rows & ~seen).any():
        j, k, t = (int(x[0]) for x in np.nonzero(need_rows & ~seen))
        problems.append(
            f"{int((need_rows & ~seen).sum())} (slice, workload, SKU) row(s) missing, e.g. hour "
            f"{c.start_hours[t]:g}, {problem.workloads[k]} on {problem.skus[j].id}"
        )
    if not problems:
        gpus = np.array([units[s.id] * s.gpus_per_unit for s in problem.skus], dtype=float)
        over = busy.sum(axis=1) - gpus[:, None]
        if (over > 1e-6 * np.maximum(gpus[:, None], 1.0)).any():
            j, t = np.unravel_index(int(np.argmax(over)), over.shape)
            problems.append(
                f"{problem.skus[j].id} at hour {c.start_hours[t]:g}: {busy[j, :, t].sum():.6g} busy GPUs, "
                f"more than the plan's {gpus[j]:g}"
            )
        short = c.peak - ((theta[:, :, None] * busy).sum(axis=0) + unserved)
        if (np.abs(short) > 1e-5 * np.maximum(c.peak, 1.0)).any():
            k, t = np.unravel_index(int(np.argmax(np.abs(short))), short.shape)
            problems.append(
                f"hour {c.start_hours[t]:g}, {problem.workloads[k]}: served + unserved differs from the scenario's "
                f"peak demand {c.peak[k, t]:.6g} tokens/s by {short[k, t]:.3g}"
            )
    if problems:
        raise ScenarioError(
            f"{csv_path}: the dispatch does not match scenario '{problem.name}' and plan {path}: "
            f"{len(problems)} problem(s) found ({fix})",
            problems[:20],
        )
    return Dispatch(busy, unserved)
