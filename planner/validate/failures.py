"""Failures, repairs and planned maintenance of each SKU's failure domains over the whole span (SimPy).

**Failure domains.** A fault takes out a whole domain: ``gpus_per_failure_domain`` GPUs
(catalog: an 8-GPU HGX node, a 4-GPU NVL72 compute tray; inline SKUs: a unit). A domain
of ``g`` GPUs fails at ``g / mtbf_hours_per_gpu`` per hour, so its MTBF is
``mtbf_hours_per_gpu / g``; repairs take ``mttr_hours`` on average. Up and repair times
are exponential; every domain starts in the stationary state (down with probability
MTTR / (MTBF + MTTR), with an exponential residual repair), so the long-run share of time a
domain is up is ``MTBF / (MTBF + MTTR)``. Each domain draws from its own stream,
``SeedSequence(seed, spawn_key=(sku index, domain index))``: a bigger fleet keeps the
histories of the domains it shares with a smaller one (common random numbers across the
closed loop's iterations). SKUs without an MTBF never fail.

**Planned maintenance.** ``maintenance_hours_per_week`` per domain, pro rata over the span,
in one job per started week, each starting at one of the quarter of the slices where the
plan keeps that SKU least busy (domain ``i``'s ``j``-th job takes the ``(i + j*D) mod L``-th
such slice): the operator's choice of quiet hours, spread so that few domains are out at once.

A domain is unavailable while failed or in maintenance. ``Outages`` keeps, per SKU, the
state at time 0 and every availability transition, so the request-level windows replay
exactly the outages of the span they cut out of.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy

from planner.errors import ScenarioError
from planner.milp.problem import SkuData


@dataclass(frozen=True)
class Reliability:
    """Failure figures of one SKU as simulated."""

    mtbf_hours_per_gpu: float | None  # None: never fails [h]
    mttr_hours: float  # [h]
    gpus_per_domain: int  # [GPUs]

    @property
    def mtbf_hours_per_domain(self) -> float:
        return math.inf if self.mtbf_hours_per_gpu is None else self.mtbf_hours_per_gpu / self.gpus_per_domain

    @property
    def availability(self) -> float:
        """Long-run share of time a domain is up (failures only): MTBF / (MTBF + MTTR). [1]"""
        m = self.mtbf_hours_per_domain
        return 1.0 if math.isinf(m) else m / (m + self.mttr_hours)


def sku_reliability(
    sku: SkuData, *, failures: bool, mtbf_hours_per_gpu: float | None = None, mttr_hours: float | None = None
) -> Reliability:
    """The SKU's reliability (catalog or scenario), with optional fleet-wide overrides. [h]"""
    for name, value in (("mtbf_hours_per_gpu", mtbf_hours_per_gpu), ("mttr_hours", mttr_hours)):
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise ScenarioError(
                f"`{name}` override: {value!r} is not a positive number of hours; "
                "give e.g. `mtbf_hours_per_gpu` 50000 and `mttr_hours` 4"
            )
    g = int(sku.gpus_per_failure_domain or sku.gpus_per_unit)
    if g <= 0 or sku.gpus_per_unit % g != 0:
        g = sku.gpus_per_unit  # a domain must tile a unit; otherwise the unit is the domain
    mtbf = mtbf_hours_per_gpu if mtbf_hours_per_gpu is not None else sku.mtbf_hours_per_gpu
    mttr = mttr_hours if mttr_hours is not None else sku.mttr_hours
    for name, value in (("mtbf_hours_per_gpu", mtbf), ("mttr_hours", mttr)):
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise ScenarioError(
                f"SKU {sku.id}: {name} {value!r} must be a positive number of hours "
                f"(set skus.{sku.id}.{name} in the scenario or override it with `mtbf_hours_per_gpu` / `mttr_hours`)"
            )
    if not failures or mtbf is None:
        return Reliability(None, float(mttr or 0.0), g)
    return Reliability(float(mtbf), float(mttr if mttr is not None else 0.0), g)


@dataclass(frozen=True)
class Outages:
    """Availability of one SKU's failure domains over the span. Times in hours from the start."""

    sku: str
    domains: int
    gpus_per_domain: int
    initially_down: np.ndarray  # (D,) bool, at time 0
    times_h: np.ndarray  # (E,) sorted availability transitions [h]
    domain: np.ndarray  # (E,) int
    goes_down: np.ndarray  # (E,) bool: True = becomes unavailable
    failure_times_h: np.ndarray  # every failure (not maintenance), sorted [h]
    maintenance_domain_hours: float  # [domain-h]

    def down_at(self, t_h: float) -> np.ndarray:
        """(D,) bool: unavailable at time ``t_h`` (transitions at exactly t_h included)."""
        down = self.initially_down.copy()
        k = int(np.searchsorted(self.times_h, t_h, side="right"))
        for d, g in zip(self.domain[:k].tolist(), self.goes_down[:k].tolist(), strict=True):
            down[d] = g
        return down

    def window(self, t0_h: float, t1_h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Transitions in (t0, t1): (times [h], domain, goes_down)."""
        a = int(np.searchsorted(self.times_h, t0_h, side="right"))
        b = int(np.searchsorted(self.times_h, t1_h, side="left"))
        return self.times_h[a:b], self.domain[a:b], self.goes_down[a:b]

    def mean_down_domains(self, edges_h: np.ndarray) -> np.ndarray:
        """Time-average number of unavailable domains between consecutive edges. (len(edges)-1,)"""
        c0 = float(self.initially_down.sum())
        d = np.where(self.goes_down, 1.0, -1.0)
        cum_d = np.concatenate([[0.0], np.cumsum(d)])
        cum_td = np.concatenate([[0.0], np.cumsum(d * self.times_h)])
        k = np.searchsorted(self.times_h, edges_h, side="right")
        integral = c0 * edges_h + edges_h * cum_d[k] - cum_td[k]  # integral of the down count from 0
        return np.diff(integral) / np.diff(edges_h)

    def failures_per_slice(self, edges_h: np.ndarray) -> np.ndarray:
        return np.histogram(self.failure_times_h, bins=edges_h)[0].astype(float)


def _domain_life(env: simpy.Environment, i: int, rng: np.random.Generator, rel: Reliability, log: list) -> object:
    """One failure domain alternating up and down (exponential times), from the stationary state."""
    mtbf, mttr = rel.mtbf_hours_per_domain, rel.mttr_hours
    if rng.random() < mttr / (mtbf + mttr):
        log.append((0.0, i, True, True))
        yield env.timeout(rng.exponential(mttr))
        log.append((env.now, i, False, False))
    while True:
        yield env.timeout(rng.exponential(mtbf))
        log.append((env.now, i, True, True))
        yield env.timeout(rng.exponential(mttr))
        log.append((env.now, i, False, False))


def maintenance_jobs(
    domains: int, hours_per_week: float, busy_share: np.ndarray, starts_h: np.ndarray, span_h: float
) -> list[tuple[float, float, int]]:
    """(start, end, domain) of every planned maintenance job (see module doc). [h]"""
    if hours_per_week <= 0 or domains == 0:
        return []
    jobs_per_domain = max(1, math.ceil(span_h / 168.0 - 1e-9))
    duration = hours_per_week * span_h / 168.0 / jobs_per_domain
    quiet = np.argsort(busy_share, kind="stable")[: max(1, len(busy_share) // 4)]
    out = []
    for i in range(domains):
        for j in range(jobs_per_domain):
            t = float(starts_h[quiet[(i + j * domains) % len(quiet)]])
            out.append((t, min(t + duration, span_h), i))
    return out


def simulate_outages(
    sku: SkuData,
    sku_index: int,
    domains: int,
    rel: Reliability,
    span_h: float,
    seed: int,
    *,
    maintenance_hours_per_week: float = 0.0,
    busy_share: np.ndarray | None = None,
    starts_h: np.ndarray | None = None,
) -> Outages:
    """Failures and repairs of ``domains`` domains over ``span_h`` hours (SimPy), plus maintenance."""
    log: list[tuple[float, int, bool, bool]] = []  # (time, domain, goes_down, is_failure)
    if rel.mtbf_hours_per_gpu is not None and domains > 0:
        env = simpy.Environment()
        for i in range(domains):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(sku_index, i)))
            env.process(_domain_life(env, i, rng, rel, log))
        env.run(until=span_h)
    jobs = []
    if busy_share is not None and starts_h is not None:
        jobs = maintenance_jobs(domains, maintenance_hours_per_week, busy_share, starts_h, span_h)
    events = [(t, d, 1 if down else -1, fail) for t, d, down, fail in log]
    for start, end, d in jobs:
        events.append((start, d, 1, False))
        events.append((end, d, -1, False))
    events.sort(key=lambda e: (e[0], e[2], e[1]))  # at equal times, returns before departures
    count = np.zeros(domains, dtype=int)
    initially_down = np.zeros(domains, dtype=bool)
    times, dom, down = [], [], []
    for t, d, delta, _fail in events:
        was = count[d] > 0
        count[d] += delta
        now = count[d] > 0
        if was == now:
            continue
        if t == 0.0 and now:
            initially_down[d] = True
            continue
        times.append(t)
        dom.append(d)
        down.append(now)
    fails = np.array(sorted(t for t, _d, down_, fail in log if down_ and fail and t > 0.0))
    return Outages(
        sku=sku.id,
        domains=domains,
        gpus_per_domain=rel.gpus_per_domain,
        initially_down=initially_down,
        times_h=np.array(times, dtype=float),
        domain=np.array(dom, dtype=int),
        goes_down=np.array(down, dtype=bool),
        failure_times_h=fails,
        maintenance_domain_hours=float(sum(e - s for s, e, _ in jobs)),
    )
