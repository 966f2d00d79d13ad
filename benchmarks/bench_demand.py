"""Demand simulator speed and memory against plain numpy baselines measured in the same run.

    .venv/bin/python benchmarks/bench_demand.py

1. A year at 1-minute slices for 4 generated workloads (window level: counts and token sums
   per minute, SimPy sources booking a day at a time), against one vectorised numpy pass
   (Poisson counts per minute x mean tokens per request: no SimPy, no burstiness, no
   token-length noise).
2. A million-request peak hour (request level: every arrival and its token lengths, peaks
   over 1-second windows), against numpy cumsum(exponential) + bincount(weights).

Printed, never asserted. Peak memory is tracemalloc's (numpy allocations included),
measured in a second run so it does not slow the timed one.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from planner.demand.simulate import profile_tokens_per_s, run_demand
from planner.demand.spec import GeneratedDemand

LENGTHS = {
    "chat": ({"mean": 1155, "median": 1020}, {"mean": 211, "median": 129}),
    "code": ({"mean": 2048, "median": 1469}, {"mean": 28, "median": 13}),
    "reasoning": ({"mean": 1000, "median": 800}, {"mean": 8000, "median": 6000}),
    "agentic": ({"mean": 6000, "median": 4000}, {"mean": 400, "median": 250}),
}


def year_spec() -> GeneratedDemand:
    shapes = {
        "chat": dict(mean_tokens_per_s=8e6, peak_to_mean=1.9, weekend_factor=0.55, burstiness=1.5),
        "code": dict(mean_tokens_per_s=4e6, peak_to_mean=3.3, peak_hour=10, weekend_factor=0.25, burstiness=2.0),
        "reasoning": dict(mean_tokens_per_s=3e6, peak_to_mean=1.5, weekend_factor=0.8),
        "agentic": dict(mean_tokens_per_s=2e6, peak_to_mean=2.0, weekend_factor=0.6, growth_per_month=0.08),
    }
    workloads = {
        name: {**shape, "input_tokens": LENGTHS[name][0], "output_tokens": LENGTHS[name][1]}
        for name, shape in shapes.items()
    }
    workloads["chat"]["events"] = [{"kind": "launch", "day": 120, "multiplier": 1.3, "ramp_days": 14}]
    return GeneratedDemand.model_validate(
        {"horizon_days": 364, "slice_minutes": 1, "peak_resolution_s": 60, "seed": 1, "workloads": workloads}
    )


def year_numpy_baseline(spec: GeneratedDemand) -> np.ndarray:
    rng = np.random.default_rng(1)
    minutes = int(spec.horizon_days * 1440)
    t = (np.arange(minutes) + 0.5) * 60.0
    out = np.empty((len(spec.workloads), minutes))
    for i, traffic in enumerate(spec.workloads.values()):
        per_request = traffic.tokens_per_request()[0]
        out[i] = rng.poisson(profile_tokens_per_s(traffic, t) * 60.0 / per_request) * per_request / 60.0
    return out


def hour_spec(requests: float) -> GeneratedDemand:
    tokens_per_request = 1155 + 211
    return GeneratedDemand.model_validate(
        {
            "horizon_days": 1 / 24,
            "slice_minutes": 1,
            "peak_resolution_s": 1,
            "seed": 2,
            "request_level_limit": int(requests * 2),
            "workloads": {
                "chat": {
                    "mean_tokens_per_s": requests * tokens_per_request / 3600.0,
                    "input_tokens": LENGTHS["chat"][0],
                    "output_tokens": LENGTHS["chat"][1],
                }
            },
        }
    )


def hour_numpy_baseline(requests: float) -> np.ndarray:
    rng = np.random.default_rng(2)
    rate = requests / 3600.0
    n = int(requests * 1.01 + 1000)
    arrivals = np.cumsum(rng.exponential(1.0 / rate, n))
    arrivals = arrivals[arrivals < 3600.0]
    tokens = rng.lognormal(np.log(1020), 0.498, arrivals.size) + rng.lognormal(np.log(129), 0.993, arrivals.size)
    return np.bincount(arrivals.astype(np.int64), weights=tokens, minlength=3600)


def measure(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """Best wall time of ``repeat`` runs [s], tracemalloc peak of one more run [MB], and the result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return best, peak, result


def main() -> None:
    spec = year_spec()
    sim_s, sim_mb, run = measure(lambda: run_demand(spec, Path(".")), repeat=2)
    base_s, base_mb, base = measure(lambda: year_numpy_baseline(spec), repeat=2)
    slices = run.curve.mean.shape[1]
    print("1. a year (364 days) at 1-minute slices, 4 workloads, window level (peaks over 60 s)")
    print(f"   simulator (SimPy sources + numpy): {sim_s:7.3f} s, peak memory {sim_mb:7.1f} MB, {slices:,} slices")
    print(f"   plain numpy baseline:              {base_s:7.3f} s, peak memory {base_mb:7.1f} MB")
    print(f"   ratio simulator / numpy: {sim_s / base_s:.2f}x time, {sim_mb / max(base_mb, 1e-9):.2f}x memory")
    print(
        "   means (simulator vs baseline) [tokens/s]: "
        + ", ".join(
            f"{w} {m:.4g} vs {b:.4g}"
            for w, m, b in zip(run.curve.workloads, run.curve.mean.mean(1), base.mean(1), strict=True)
        )
    )
    print(f"   SimPy log entries: {len(run.log):,}")

    requests = 1e6
    hspec = hour_spec(requests)
    sim_s, sim_mb, hrun = measure(lambda: run_demand(hspec, Path(".")))
    base_s, base_mb, hbase = measure(lambda: hour_numpy_baseline(requests))
    got = hrun.tokens[0, 0].sum() / (1155 + 211)
    print("2. a million-request peak hour, request level (peaks over 1 s windows)")
    print(
        f"   simulator ({hrun.detail['chat']} level):     {sim_s:7.3f} s, peak memory {sim_mb:7.1f} MB, ~{got:,.0f} requests"
    )
    print(f"   numpy cumsum + bincount baseline: {base_s:7.3f} s, peak memory {base_mb:7.1f} MB")
    print(f"   ratio simulator / numpy: {sim_s / base_s:.2f}x time, {sim_mb / max(base_mb, 1e-9):.2f}x memory")
    print(
        f"   busiest second / mean: simulator {hrun.curve.peak.max() / hrun.curve.mean.mean():.3f}, "
        f"baseline {hbase.max() / hbase.mean():.3f}"
    )


if __name__ == "__main__":
    main()
