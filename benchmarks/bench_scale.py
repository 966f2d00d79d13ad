"""Scale benchmark: the planner (time aggregation) against an exact full-resolution MILP.

For 168, 2,190, 8,760 and 26,280 hourly slices (6 SKUs, 3 workloads, energy billed, a
binding power cap; see instances.py) it prints, for each: the planner's wall time and
peak memory, the same for the exact full-resolution model solved by HiGHS in the same
run, their ratio, the cost difference and the planner's certified error bound.

Each measurement runs in a fresh subprocess so that peak memory (ru_maxrss) is its own.
Wall time covers plan_fleet (model build, aggregation, solve, full-resolution dispatch),
not Python start-up or instance generation.

    python benchmarks/bench_scale.py                 # exact baseline up to 8,760 slices
    python benchmarks/bench_scale.py --max-exact 26280   # also the 26,280 exact MILP (very long)
    python benchmarks/bench_scale.py --sizes 8760 --objectives min_cost,max_tokens,min_cost_per_token
    python benchmarks/bench_scale.py --sizes 8760 --objectives max_tokens,min_cost_per_token --cap-scale 0.5
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {here!r})
from dataclasses import replace
from instances import instance
from planner.milp.solve import SolverOptions
from planner.optimize.run import plan_fleet
p = instance({hours})
p = replace(p, aggregation={mode!r}, objective={objective!r}, power_cap_mw=p.power_cap_mw * {cap_scale})
t = time.perf_counter()
plan = plan_fleet(p, SolverOptions(time_limit_s={limit}), explain={explain})
wall = time.perf_counter() - t
agg = plan.aggregation or {{}}
print(json.dumps({{
    "status": plan.status, "wall_s": wall, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "cost": plan.total_cost_usd, "tokens": plan.tokens_served, "error_bound": agg.get("error_bound"), "mip_gap": plan.solver.get("mip_gap"),
    "model_slices": agg.get("model_slices"), "units": [f.units for f in plan.fleet],
    "build_s": plan.timings.get("build_s"), "solve_s": plan.timings.get("solve_s"),
}}))
"""


CAP_SCALE = 1.0  # --cap-scale: the instances' power cap times this (below 1: demand no longer fits)


def measure(hours: int, mode: str, limit: float, objective: str = "min_cost", explain: bool = False) -> dict:
    code = CHILD.format(
        here=str(HERE), hours=hours, mode=mode, limit=limit, objective=objective, explain=explain, cap_scale=CAP_SCALE
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=limit * 3 + 600)
    if out.returncode != 0:
        return {"status": f"failed: {out.stderr.strip().splitlines()[-1] if out.stderr else out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="168,2190,8760,26280")
    ap.add_argument("--max-exact", type=int, default=8760, help="largest size to also solve exactly")
    ap.add_argument("--time-limit", type=float, default=1800.0, help="exact MILP time limit [s]")
    ap.add_argument(
        "--objectives",
        default="min_cost",
        help="comma-separated objectives; each is timed (with explain) against min_cost's time in the same run",
    )
    ap.add_argument("--cap-scale", type=float, default=1.0, help="power cap x this (e.g. 0.5: demand exceeds it)")
    args = ap.parse_args()
    global CAP_SCALE
    CAP_SCALE = args.cap_scale
    objectives = args.objectives.split(",")
    if objectives != ["min_cost"]:
        compare_objectives(args, objectives)
        return
    header = (
        f"{'slices':>7} | {'planner s':>9} {'MB':>6} {'model':>6} {'bound':>8} | {'exact s':>8} {'MB':>6} "
        f"{'status':>9} | {'time ratio':>10} {'cost diff':>10}"
    )
    print(header)
    print("-" * len(header))
    for hours in (int(x) for x in args.sizes.split(",")):
        fast = measure(hours, "on", args.time_limit)
        exact = measure(hours, "off", args.time_limit) if hours <= args.max_exact else None
        ratio = diff = "-"
        if exact and exact.get("wall_s") and fast.get("wall_s"):
            ratio = f"{fast['wall_s'] / exact['wall_s']:.3f}"
            diff = f"{(fast['cost'] - exact['cost']) / exact['cost']:+.2e}"
        ex_s = f"{exact['wall_s']:.2f}" if exact and "wall_s" in exact else "not run"
        ex_mb = f"{exact['rss_mb']:.0f}" if exact and "rss_mb" in exact else "-"
        ex_st = exact["status"] if exact else "-"
        print(
            f"{hours:>7} | {fast.get('wall_s', float('nan')):>9.2f} {fast.get('rss_mb', float('nan')):>6.0f} "
            f"{fast.get('model_slices') or 0:>6} {fast.get('error_bound') or 0:>8.2e} | {ex_s:>8} {ex_mb:>6} {ex_st:>9} | "
            f"{ratio:>10} {diff:>10}",
            flush=True,
        )
    print(
        "\nbound = certified (upper - lower) / upper of the planner's cost against the exact optimum;"
        "\ncost diff = (planner - exact) / exact, both within their MIP gap (1e-4)."
    )


def compare_objectives(args, objectives: list[str]) -> None:
    """Every objective with explain (marginal values, single-SKU fleets), aggregated, against
    min_cost's time on the same instance, and against its own exact solve up to --max-exact."""
    header = (
        f"{'slices':>7} {'objective':>19} | {'s':>7} {'MB':>6} {'x min_cost':>10} {'bound':>8} | "
        f"{'exact s':>8} {'MB':>6} {'cost diff':>10} {'token diff':>10}"
    )
    print(header)
    print("-" * len(header))
    for hours in (int(x) for x in args.sizes.split(",")):
        base = measure(hours, "on", args.time_limit, "min_cost", explain=True)
        for objective in ["min_cost", *[o for o in objectives if o != "min_cost"]]:
            fast = base if objective == "min_cost" else measure(hours, "on", args.time_limit, objective, explain=True)
            exact = measure(hours, "off", args.time_limit, objective) if hours <= args.max_exact else None
            ratio = fast["wall_s"] / base["wall_s"] if "wall_s" in fast and "wall_s" in base else float("nan")
            cost = tok = ex_s = ex_mb = "-"
            if exact and "wall_s" in exact and "wall_s" in fast:
                ex_s, ex_mb = f"{exact['wall_s']:.2f}", f"{exact['rss_mb']:.0f}"
                if exact["status"] != "infeasible" and exact["tokens"] and exact["cost"]:
                    cost = f"{(fast['cost'] - exact['cost']) / exact['cost']:+.2e}"
                    tok = f"{(fast['tokens'] - exact['tokens']) / exact['tokens']:+.2e}"
                else:
                    cost = tok = exact["status"]
            print(
                f"{hours:>7} {objective:>19} | {fast.get('wall_s', float('nan')):>7.2f} {fast.get('rss_mb', float('nan')):>6.0f} "
                f"{ratio:>10.2f} {fast.get('error_bound') or 0:>8.2e} | {ex_s:>8} {ex_mb:>6} {cost:>10} {tok:>10}",
                flush=True,
            )


if __name__ == "__main__":
    main()
