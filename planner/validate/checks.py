"""How far the coarse queueing model (fluid.py) is from the request-level simulation.

One pool of ``c`` slots, Poisson arrivals at utilisation ``rho``, holding times of mean 1 s,
exponential (M/M/c) or fixed (M/D/c), simulated request by request (window.py, SimPy, no
failures, unbounded patience) and set against the two analytic models:

* Allen-Cunneen (Erlang C P(wait); mean wait Erlang C x (1 + cs^2) / 2), used below
  ``HEAVY_TRAFFIC_RHO``;
* heavy traffic (stationary reflected Brownian motion: everyone waits, exponential waits of
  mean ``(lambda + m cs^2) / (2 (m - lambda) m)``), used at and above it.

``python -m planner.validate.checks`` prints the table the README quotes; a test regenerates
it and compares, so the README cannot drift. Same seed, same table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.validate.arrivals import RequestProfile
from planner.validate.fluid import HEAVY_TRAFFIC_RHO, allen_cunneen_mean_wait, erlang_c
from planner.validate.pools import PoolSpec, SlotModel
from planner.validate.window import simulate_window

SERVERS = (1, 4, 16, 64)
UTILISATIONS = (0.5, 0.8, 0.95)
QUEUES = ("M/M/c", "M/D/c")
TAU_S = 1.0  # the late threshold of the check: one mean holding time [s]


def requests_for(c: int, rho: float) -> int:
    """Measured requests per case: more near saturation and with many slots, where waiting
    comes in long correlated stretches (at c = 64, rho = 0.8, P(wait) from 40,000 requests
    varies from 0.057 to 0.078 over three seeds around Erlang C's 0.056). [1]"""
    return 200_000 if rho >= HEAVY_TRAFFIC_RHO or c >= 16 else 40_000


@dataclass(frozen=True)
class QueueCheck:
    queue: str  # M/M/c | M/D/c
    c: int  # slots
    rho: float  # utilisation [1]
    requests: int  # measured [requests]
    sim_p_wait: float  # [1]
    erlang_c: float  # P(wait) of Erlang C (Allen-Cunneen keeps it) [1]
    sim_mean_wait_s: float  # [s]
    allen_cunneen_mean_wait_s: float  # [s]
    heavy_traffic_mean_wait_s: float  # [s]
    sim_p_late: float  # P(wait > TAU_S) [1]
    allen_cunneen_p_late: float  # [1]
    heavy_traffic_p_late: float  # [1]

    @property
    def model(self) -> str:
        """The model the validator uses at this utilisation (fluid.py)."""
        return "heavy_traffic" if self.rho >= HEAVY_TRAFFIC_RHO else "allen_cunneen"

    @property
    def mean_wait_error(self) -> float:
        """Relative error of the used model's mean wait against the simulation. [1]"""
        used = self.heavy_traffic_mean_wait_s if self.model == "heavy_traffic" else self.allen_cunneen_mean_wait_s
        return used / self.sim_mean_wait_s - 1.0 if self.sim_mean_wait_s > 0 else math.nan

    @property
    def p_late_error(self) -> float:
        """The used model's P(wait > tau) minus the simulation's (absolute). [1]"""
        used = self.heavy_traffic_p_late if self.model == "heavy_traffic" else self.allen_cunneen_p_late
        return used - self.sim_p_late


def one_check(queue: str, c: int, rho: float, seed: int = 0) -> QueueCheck:
    """Simulate one case and evaluate both models on it."""
    kind = "exponential" if queue == "M/M/c" else "fixed"
    profile = RequestProfile("w", mean_tokens=1.0, output_share=1.0, interactivity=None, length_kind=kind)
    pool = PoolSpec(0, "s", 0, "w", 0, c, 1, SlotModel(1, 1.0, 1.0, True))
    lam, m, cs2 = rho * c, float(c), 1.0 if queue == "M/M/c" else 0.0
    n = requests_for(c, rho)
    duration = n / lam
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(QUEUES.index(queue), c, round(rho * 100))))
    res = simulate_window(
        [pool], [profile], np.array([lam]), [np.array([1.0])], duration, rng, warmup_s=duration / 10, patience_s=1e12
    )
    wait = res.wait_s
    p = erlang_c(c, lam)
    ac_mean = allen_cunneen_mean_wait(c, lam, 1.0, 1.0, cs2)
    ht_mean = (lam + m * cs2) / (2.0 * (m - lam) * m)
    return QueueCheck(
        queue=queue,
        c=c,
        rho=rho,
        requests=len(wait),
        sim_p_wait=float((wait > 0).mean()),
        erlang_c=p,
        sim_mean_wait_s=float(wait.mean()),
        allen_cunneen_mean_wait_s=ac_mean,
        heavy_traffic_mean_wait_s=ht_mean,
        sim_p_late=float((wait > TAU_S).mean()),
        allen_cunneen_p_late=p * math.exp(-TAU_S * p / ac_mean),
        heavy_traffic_p_late=math.exp(-TAU_S / ht_mean),
    )


def _case(args: tuple[str, int, float, int]) -> QueueCheck:
    return one_check(*args)


def queue_checks(seed: int = 0, workers: int = 1) -> list[QueueCheck]:
    """Every case, in table order; ``workers`` > 1 spreads them over processes (same results)."""
    cases = [(q, c, rho, seed) for q in QUEUES for c in SERVERS for rho in UTILISATIONS]
    if workers <= 1:
        return [_case(a) for a in cases]
    import concurrent.futures as cf
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return list(pool.map(_case, cases))


def markdown(rows: list[QueueCheck]) -> str:
    """The README's table (waits in mean holding times)."""
    head = (
        "| queue | c | rho | requests | P(wait) sim / Erlang C | mean wait sim / Allen-Cunneen / heavy traffic "
        "| P(wait > 1) sim / model used | model used: mean-wait error |\n"
        "|---|---:|---:|---:|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        used_late = r.heavy_traffic_p_late if r.model == "heavy_traffic" else r.allen_cunneen_p_late
        lines.append(
            f"| {r.queue} | {r.c} | {r.rho:g} | {r.requests:,} | {r.sim_p_wait:.3f} / {r.erlang_c:.3f} "
            f"| {r.sim_mean_wait_s:.3g} / {r.allen_cunneen_mean_wait_s:.3g} / {r.heavy_traffic_mean_wait_s:.3g} "
            f"| {r.sim_p_late:.3f} / {used_late:.3f} | {r.model.replace('_', ' ')}: {_error(r.mean_wait_error)} |"
        )
    return head + "\n".join(lines) + "\n"


def _error(e: float) -> str:
    return "no wait simulated" if math.isnan(e) else f"{e:+.0%}"


if __name__ == "__main__":
    import os

    print(markdown(queue_checks(workers=os.cpu_count() or 1)), end="")
