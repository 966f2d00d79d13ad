"""Sweep executors on the default scenario: serial vs local processes vs a local Dask cluster.

Prints wall-clock seconds (start-up included) and ratios against serial, measured in the
same run. Usage: .venv/bin/python benchmarks/bench_sweep.py [POINTS] [WORKERS]
"""

from __future__ import annotations

import sys
import time

from planner.sweep.executors import DaskExecutor, ProcessExecutor, SerialExecutor
from planner.sweep.grid import build_sweep
from planner.sweep.run import run_sweep, table_csv


def main() -> None:
    points = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    caps = ",".join(f"{9.5 + 0.5 * i:g}" for i in range(points))
    spec = build_sweep(None, [f"constraints.power_cap_mw={caps}"])
    results = {}
    for executor in (SerialExecutor(), ProcessExecutor(workers), DaskExecutor(workers=workers)):
        t0 = time.perf_counter()
        table = table_csv(run_sweep(spec, executor))
        results[executor.name] = (time.perf_counter() - t0, table)
    base = results["serial"][0]
    print(f"{points} points (power caps {caps}), {workers} workers; wall seconds incl. start-up")
    for name, (seconds, _) in results.items():
        print(f"  {name:7s} {seconds:6.2f} s   speed-up vs serial {base / seconds:4.2f}x")
    same = len({t for _, t in results.values()}) == 1
    print(f"  identical tables: {same}")


if __name__ == "__main__":
    main()
