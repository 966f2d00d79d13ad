"""Buildout at scale: three years in 12 quarters, each with a quarter of hourly demand (2,184 slices).

The instance is the shipped buildout (scenarios/buildout.yaml) stretched to 12 quarters and a
13-week hourly representative curve (default-demand.csv tiled with seeded 5 % noise, so that
slices differ), written to a temporary folder. It is planned twice, each in a fresh subprocess
so that peak memory (ru_maxrss) is its own: with time aggregation (each period's curve reduced
to its Pareto peak slices and energy groups, a certified bound) and exactly (every slice).
Printed: wall time, peak memory, present value, the certified bound, their ratio and the
present-value difference. Printed, never asserted.

    .venv/bin/python benchmarks/bench_buildout_scale.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from planner.resources import scenarios_dir

QUARTERS = 12
WEEKS = 13

CHILD = r"""
import json, resource, sys, time
from planner.buildout.run import buildout_problem_from, plan_buildout
from planner.optimize.problem import solver_options
from planner.scenario.load import load_scenario
sf = load_scenario({path!r}, {{"solver.time_aggregation": {mode!r}, "solver.time_limit_s": 1800}})
problem = buildout_problem_from(sf)
t = time.perf_counter()
plan = plan_buildout(problem, solver_options(sf.scenario))
wall = time.perf_counter() - t
agg = plan.aggregation or {{}}
print(json.dumps({{
    "status": plan.status, "wall_s": wall, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "pv": plan.totals.get("present_value_usd"), "bound": agg.get("error_bound"), "model_slices": agg.get("model_slices"),
    "slices": agg.get("original_slices"), "solve_s": plan.timings.get("solve_s"),
}}))
"""


def write_instance(folder: Path) -> Path:
    """The 12-quarter scenario and its 2,184-slice curve, in ``folder``."""
    base = np.genfromtxt(scenarios_dir() / "default-demand.csv", delimiter=",", names=True)
    rng = np.random.default_rng(5)
    hours = np.arange(WEEKS * 168)
    rows = ["hour,chat,fast"]
    for h in hours:
        noise = rng.lognormal(0.0, 0.05, 2)
        rows.append(f"{h},{base['chat'][h % 168] * noise[0]:.0f},{base['fast'][h % 168] * noise[1]:.0f}")
    (folder / "quarter.csv").write_text("\n".join(rows) + "\n")
    scn = yaml.safe_load((scenarios_dir() / "buildout.yaml").read_text())
    scn["demand"]["load_curve"] = "quarter.csv"
    b = scn["buildout"]
    b["periods"] = QUARTERS
    b["power_cap_mw"] = [10, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]
    for entry in b["skus"].values():
        prices = entry.get("capex_usd_per_gpu")
        if isinstance(prices, list):
            last = prices[-1]
            entry["capex_usd_per_gpu"] = prices + [round(last * 0.95 ** (i + 1)) for i in range(QUARTERS - len(prices))]
    b["demand"]["growth_per_month"] = 0.03
    b["capex_budget_usd"] = 250_000_000
    b["total_capex_budget_usd"] = 2_000_000_000
    path = folder / "buildout-3y.yaml"
    path.write_text(yaml.safe_dump(scn, sort_keys=False))
    return path


def measure(path: Path, mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(path=str(path), mode=mode)], capture_output=True, text=True, timeout=7200
    )
    if out.returncode != 0:
        return {"status": f"failed: {out.stderr.strip().splitlines()[-1] if out.stderr else out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_instance(Path(tmp))
        fast = measure(path, "on")
        exact = measure(path, "off")
    print(f"buildout: {QUARTERS} quarters x {WEEKS * 168} hourly slices, perfect foresight")
    print(f"{'run':<12}{'status':>10}{'wall s':>9}{'MB':>7}{'model slices':>14}{'PV $':>18}{'bound':>10}")
    for name, r in (("aggregated", fast), ("exact", exact)):
        if "wall_s" not in r:
            print(f"{name:<12}{r['status']}")
            continue
        print(
            f"{name:<12}{r['status']:>10}{r['wall_s']:>9.2f}{r['rss_mb']:>7.0f}{r.get('model_slices') or r.get('slices') or 0:>14}"
            f"{r['pv']:>18,.0f}{(r.get('bound') or 0):>10.2e}"
        )
    if "wall_s" in fast and "wall_s" in exact:
        print(
            f"time ratio aggregated / exact {fast['wall_s'] / exact['wall_s']:.3f}; "
            f"PV difference {(fast['pv'] - exact['pv']) / exact['pv']:+.2e} (both within their MIP gap, 1e-4)"
        )


if __name__ == "__main__":
    main()
