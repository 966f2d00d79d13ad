"""CLI start-up: `planner --help` and `planner <cmd> --help` against `python -c "import typer"`.

    .venv/bin/python benchmarks/bench_startup.py

Baseline (measured in the same run): a fresh interpreter that only imports typer, the floor
of any Typer CLI. Each command is started 7 times in a fresh process; the best wall time
and its ratio to the baseline are printed, never asserted (the issue's target is < 0.3 s).
"""

from __future__ import annotations

import subprocess
import sys
import time

COMMANDS = [
    [],
    ["plan"],
    ["buildout"],
    ["validate"],
    ["sweep"],
    ["demand"],
    ["compare"],
    ["report"],
    ["diff"],
    ["scenarios"],
    ["throughput", "estimate"],
]
RUNS = 7


def best_of(argv: list[str]) -> float:
    best = float("inf")
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    base = best_of([sys.executable, "-c", "import typer"])
    entry = [sys.executable, "-c", "from planner.cli.main import main; main()"]
    print(f"{'command':<34}{'best s':>8}{'x import typer':>16}  (best of {RUNS})")
    label = 'python -c "import typer" (baseline)'
    print(f"{label:<34}{base:>8.3f}{1.0:>16.2f}")
    for cmd in COMMANDS:
        wall = best_of([*entry, *cmd, "--help"])
        print(f"{'planner ' + ' '.join([*cmd, '--help']):<34}{wall:>8.3f}{wall / base:>16.2f}")


if __name__ == "__main__":
    main()
