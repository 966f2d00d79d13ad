"""Synthetic planning instances for the scale benchmark (deterministic, seeded).

6 SKUs (8-GPU nodes and 72-GPU racks) with trade-offs between $ and MW per token, 3
workloads with diurnal, weekly and growth shapes (chat, code, reasoning), energy billed on
top of the hourly price, and a power cap that binds.
"""

from __future__ import annotations

import numpy as np

from planner.demand.curve import LoadCurve
from planner.milp.problem import FleetProblem, SkuData

WORKLOADS = ("chat", "code", "reasoning")
# id, GPUs/unit, facility kW/GPU, $/GPU-h (energy excluded), tokens/s/GPU per workload
SKUS = [
    ("hopper-a", 8, 1.73, 0.95, (1100, 900, 380)),
    ("hopper-b", 8, 1.73, 1.10, (1350, 1150, 470)),
    ("blackwell-node-a", 8, 2.17, 1.55, (5000, 4100, 1800)),
    ("blackwell-node-b", 8, 2.17, 1.90, (6300, 5200, 2300)),
    ("blackwell-rack-a", 72, 2.10, 3.30, (9500, 7800, 3400)),
    ("blackwell-rack-b", 72, 2.10, 4.40, (12500, 10200, 4500)),
]
SHAPES = {  # peak_to_mean, peak hour, weekend factor, mean tokens/s at t=0
    "chat": (1.9, 15, 0.55, 9.0e6),
    "code": (3.3, 11, 0.25, 3.0e6),
    "reasoning": (1.3, 2, 1.0, 1.5e6),
}
GROWTH_PER_MONTH = 0.03


def demand(hours: int, seed: int = 7) -> np.ndarray:
    """(3, hours) mean tokens/s."""
    rng = np.random.default_rng(seed)
    t = np.arange(hours)
    hod = t % 24
    weekday = (t // 24) % 7 < 5
    growth = (1 + GROWTH_PER_MONTH) ** (t / 730.0)
    out = []
    for w in WORKLOADS:
        ptm, peak_hour, weekend, mean = SHAPES[w]
        daily = 1 + (ptm - 1) * np.cos(2 * np.pi * (hod - peak_hour) / 24)
        daily = np.maximum(daily, 0.05)
        level = np.where(weekday, 1.0, weekend)
        noise = rng.lognormal(0.0, 0.05, size=hours)
        out.append(mean * daily * level * growth * noise)
    return np.vstack(out)


def instance(hours: int, *, power_cap_mw: float | None = None, seed: int = 7) -> FleetProblem:
    mean = demand(hours, seed)
    curve = LoadCurve(WORKLOADS, np.arange(hours, dtype=float), np.ones(hours), mean, mean.copy(), seed=seed)
    skus = tuple(
        SkuData(
            id=sid,
            family="other",
            gpus_per_unit=g,
            facility_kw_per_gpu=kw,
            facility_idle_kw_per_gpu=0.3 * kw,
            cost_usd_per_gpu_hour=cost,
            energy_billed=True,
            capex_usd_per_gpu=float("nan"),
            min_units=0,
            max_units=float("inf"),
            throughput=dict(zip(WORKLOADS, map(float, thr), strict=True)),
            throughput_basis={w: "synthetic" for w in WORKLOADS},
        )
        for sid, g, kw, cost, thr in SKUS
    )
    if power_cap_mw is None:
        # 80 % of what the peak slice needs on the cheapest SKU per token: binds, stays feasible
        peak = mean.max(axis=1)
        cheap = SKUS[3]
        need_kw = sum(p / t * cheap[2] for p, t in zip(peak, cheap[4], strict=True))
        power_cap_mw = 0.8 * need_kw / 1000.0
    return FleetProblem(
        name=f"bench-{hours}h",
        skus=skus,
        curve=curve,
        electricity_usd_per_kwh=0.08,
        power_cap_mw=power_cap_mw,
        budget_usd_per_hour=None,
        capex_budget_usd=None,
        max_utilization=0.9,
        objective="min_cost",
    )


def timed(fn, repeat: int = 2):
    """(best wall time of ``repeat`` runs [s], the result of that run)."""
    import time

    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        got = fn()
        took = time.perf_counter() - start
        if took < best:
            best, out = took, got
    return best, out
