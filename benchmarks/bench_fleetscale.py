"""Fleet-scale benchmark: an hourly year with 3 sites, 12 SKUs (owned / reserved / on-demand) and 20 workloads.

The instance comes from ``../shared/benchmarks/fleetscale_gen.py SEED DIR`` (the project's shared
generator, beside the checkout). For each seed it runs ``planner plan scenario.yaml --json`` in a
fresh process, with the explanation (marginal values of every cap, single-SKU fleets) and without
it (``--no-explain``: the plan alone, the in-run baseline), and prints wall time, peak resident
memory, the plan's phases and the explanation's cost as a ratio to the plan alone. The goal is
<= 30 s and <= 1 GB with the explanation on a 2-core machine.

The exact full-resolution MILP of such a year (8,760 slices x ~60 columns x 20 workloads, about
8 M busy variables) does not fit this machine; the plan's own certified bound (``aggregation.
error_bound``) says how far from it the answer can be, and is printed. Against the exact solve:
the same instance cut to its first ``--days`` days (default 14, 336 hourly slices) is planned
both exactly (``--exact``) and aggregated (``solver.time_aggregation=on``); the benchmark prints
both costs, the aggregated plan's excess over the exact optimum against its certified bound,
and the wall-time ratio.

    python benchmarks/bench_fleetscale.py            # seeds 1 and 2
    python benchmarks/bench_fleetscale.py --seeds 3 --days 7
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATOR = HERE.parent.parent / "shared" / "benchmarks" / "fleetscale_gen.py"


# the child writes its own peak resident memory (RUSAGE_CHILDREN would give the largest child so far)
CHILD = """import os, resource, runpy, sys
sys.argv = ["planner", *sys.argv[1:]]
try:
    runpy.run_module("planner.cli.main", run_name="__main__")
finally:
    with open(os.environ["PLANNER_BENCH_RSS"], "w") as f:
        f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


def run(folder: Path, *flags: str) -> dict:
    """One plan in its own process: its JSON, wall time and its own peak memory."""
    rss_file = folder / "rss.txt"
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, "plan", "scenario.yaml", "--json", "--quiet", *flags],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PLANNER_BENCH_RSS": str(rss_file)},
    )
    wall = time.perf_counter() - start
    rss_kb = float(rss_file.read_text()) if rss_file.exists() else float("nan")
    doc = json.loads(out.stdout) if out.stdout.strip() else {"status": f"exit {out.returncode}: {out.stderr[-300:]}"}
    return {"doc": doc, "wall_s": wall, "rss_mb": rss_kb / 1024, "rc": out.returncode}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1,2", help="comma-separated generator seeds")
    ap.add_argument("--days", type=int, default=14, help="days of the year solved exactly for the comparison")
    args = ap.parse_args()
    if not GENERATOR.exists():
        print(f"skipped: the generator {GENERATOR} is not beside this checkout")
        return 0
    print("seed  explain  status    wall [s]  peak [MB]  solve  aggregation  marginal  single-SKU  bound")
    for seed in (int(s) for s in args.seeds.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            subprocess.run([sys.executable, str(GENERATOR), str(seed), str(folder)], check=True)
            rows = {"no": run(folder, "--no-explain"), "yes": run(folder)}
            for label, r in rows.items():
                d, t = r["doc"], r["doc"].get("timings", {})
                bound = (d.get("aggregation") or {}).get("error_bound")
                print(
                    f"{seed:>4}  {label:>7}  {d.get('status', '?'):<8}  {r['wall_s']:8.1f}  {r['rss_mb']:9.0f}  "
                    f"{t.get('solve_s', 0):5.1f}  {t.get('aggregation_s', 0):11.1f}  {t.get('marginal_s', 0):8.1f}  "
                    f"{t.get('single_sku_s', 0):10.1f}  {bound if bound is not None else '-'}"
                )
            print(f"      explained / plan alone: {rows['yes']['wall_s'] / rows['no']['wall_s']:.2f}x wall")
            against_exact(folder, args.days)
    return 0


def against_exact(folder: Path, days: int) -> None:
    """The instance's first ``days`` days planned exactly and aggregated: costs, excess against the bound."""
    lines = (folder / "curve.csv").read_text().splitlines(keepends=True)
    (folder / "curve.csv").write_text("".join(lines[: 1 + 24 * days]))
    exact = run(folder, "--no-explain", "--exact")
    agg = run(folder, "--no-explain", "--set", "solver.time_aggregation=on")
    if exact["rc"] or agg["rc"]:
        print(f"      first {days} days: exact {exact['doc'].get('status')}, aggregated {agg['doc'].get('status')}")
        return
    a, e = agg["doc"]["total_cost_usd"], exact["doc"]["total_cost_usd"]
    bound = agg["doc"]["aggregation"]["error_bound"]
    gap = exact["doc"]["solver"]["mip_gap"]
    print(
        f"      first {days} days ({24 * days} slices): exact ${e:,.0f} in {exact['wall_s']:.1f} s, aggregated "
        f"${a:,.0f} in {agg['wall_s']:.1f} s ({exact['wall_s'] / agg['wall_s']:.1f}x faster); excess "
        f"{a / e - 1:+.2e} against a certified bound of {bound:.2e} (exact MIP gap {gap:.1e})"
    )


if __name__ == "__main__":
    sys.exit(main())
