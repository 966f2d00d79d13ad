"""The coarse model for the slices not simulated request by request: a fluid queue for
volumes, M/G/c or heavy traffic for waiting.

Per slice and pool: ``c`` slots up (time-average over the slice, failures removed), each
serving ``mu`` requests/s (slot token rate / mean tokens per request: a request holds a
slot for its **total** tokens, as in the request-level simulator), so capacity
``m = c mu`` requests/s.

**Volumes** (``fluid_flow``, at the slice's **mean** rate, so they add up to the load
curve's tokens): the backlog ``q`` (requests queued beyond the slots) moves at
``lambda - m`` requests/s between 0 and ``patience x m`` (an arrival behind more than that
would wait longer than the patience: it gives up, *dropped*). What is not dropped or still
queued at the end was *served*: ``backlog_start + arrivals = served + dropped +
backlog_end`` holds exactly, and served never exceeds ``m x`` the slice's length plus the
work on hand. The backlog carries to the next slice.

**Waiting** (``wait_model``, at the slice's **peak** rate: the busiest minute, held for the
whole slice, a cautious reading of it), with ``rho = lambda_peak / m``:

* ``rho < HEAVY_TRAFFIC_RHO`` and no backlog: M/G/c by the Allen-Cunneen approximation.
  P(wait) is Erlang C ``C(c, a)`` (``a = lambda / mu``; from Poisson tails, stable for
  ``c`` in the millions), the mean wait ``C / (m - lambda) x (ca^2 + cs^2) / 2`` with
  ``ca^2`` the inter-arrival and ``cs^2`` the holding-time squared coefficient of
  variation, and the waits of those who wait exponential with mean ``E[Wq] / C``. Exact for
  M/M/c.
* otherwise, heavy traffic: the queue beyond the slots is a reflected Brownian motion with
  drift ``lambda - m`` and variance ``lambda ca^2 + m cs^2`` per second, started from the
  slice's backlog; ``P(W > t)`` is its time-average over the slice of ``P(R > t m)``. It
  counts every arrival as waiting (P(wait) = 1, an upper bound) and, from an empty queue
  far from saturation, over-states waiting badly: hence only above the threshold. Long
  enough for steady state (the slice lasts over ``RELAXATIONS`` relaxation times
  ``var / drift^2`` and starts near it), its waits are exponential with mean
  ``var / (2 |drift| m)``.

How far each is from the request-level simulation on M/M/c and M/D/c, at c in {1, 4, 16,
64} and rho in {0.5, 0.8, 0.95}, is measured by ``planner.validate.checks`` and quoted in
the README (a test regenerates the table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

HEAVY_TRAFFIC_RHO = 0.9  # at or above this peak utilisation the heavy-traffic model is used [1]
SUBSTEPS = 12  # time points of a transient heavy-traffic slice
RELAXATIONS = 20.0  # slice length, in relaxation times, above which heavy traffic is stationary
NOISE = 1e-9  # probabilities [1] and waits [s] below this are reported as 0


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c with ``c`` servers and offered load ``a`` (a < c). [1]"""
    if c <= 0:
        return 1.0
    if a <= 0:
        return 0.0
    if a >= c:
        return 1.0
    log_b = stats.poisson.logpmf(c, a) - stats.poisson.logcdf(c, a)
    b = math.exp(float(log_b))
    return c * b / (c - a * (1.0 - b))


def mmc_mean_wait(c: int, lam: float, mu: float) -> float:
    """Mean queueing delay of M/M/c: C(c, a) / (c mu - lambda). [s]"""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def allen_cunneen_mean_wait(c: int, lam: float, mu: float, ca2: float, cs2: float) -> float:
    """Mean queueing delay of GI/G/c by Allen-Cunneen: Erlang C wait x (ca^2 + cs^2) / 2. [s]"""
    return mmc_mean_wait(c, lam, mu) * (ca2 + cs2) / 2.0


def rbm_tail(x: np.ndarray, x0: float, drift: float, var: float, t: np.ndarray) -> np.ndarray:
    """P(R(t) > x) for a reflected Brownian motion from x0 (elementwise over x and t). [1]"""
    x = np.asarray(x, dtype=float)
    t = np.asarray(t, dtype=float)
    sd = np.sqrt(var * np.maximum(t, 1e-300))
    first = special.ndtr((x - x0 - drift * t) / sd)
    log_second = 2.0 * drift * x / var + special.log_ndtr((-x - x0 - drift * t) / sd)
    below = first - np.exp(np.minimum(log_second, 0.0))
    return np.clip(1.0 - below, 0.0, 1.0)


@dataclass(frozen=True)
class Flow:
    """Requests through one pool in one slice (fluid, mean rate)."""

    arrivals: float  # [requests]
    backlog_start: float  # queued at the start, after those beyond the patience gave up [requests]
    served: float  # [requests]
    dropped: float  # gave up: would have waited beyond the patience [requests]
    backlog_end: float  # queued at the end of the slice [requests]
    peak_backlog: float  # largest backlog in the slice [requests]
    peak_at: float  # where it is: 0 the start, 1 the end of the slice [1]


def fluid_flow(lam: float, m: float, backlog: float, duration_s: float, patience_s: float) -> Flow:
    """Fluid balance of one slice (see module doc). ``lam``, ``m`` in requests/s."""
    arrivals = max(lam, 0.0) * duration_s
    cap = max(m, 0.0) * patience_s
    q0 = min(backlog, cap)
    dropped = backlog - q0  # capacity fell: those beyond the patience give up at once
    if m <= 0:
        return Flow(arrivals, 0.0, 0.0, backlog + arrivals, 0.0, 0.0, 0.0)
    net = lam - m
    if net > 0:
        t_full = (cap - q0) / net
        if t_full < duration_s:
            q_end = cap
            dropped += net * (duration_s - t_full)
        else:
            q_end = q0 + net * duration_s
    else:
        q_end = max(0.0, q0 + net * duration_s)
    served = backlog + arrivals - dropped - q_end
    start_larger = q0 >= q_end
    return Flow(arrivals, q0, served, dropped, q_end, q0 if start_larger else q_end, 0.0 if start_larger else 1.0)


@dataclass(frozen=True)
class WaitModel:
    """Waiting time of the arrivals at one pool in one slice (peak rate)."""

    kind: str  # allen_cunneen | heavy_traffic | blocked (no capacity) | idle (no arrivals)
    p_wait: float  # P(W > 0) [1]
    tail_mean_s: float  # exponential tail: mean wait of those who wait [s]; NaN: transient
    x0: float = 0.0  # transient heavy traffic: backlog at the start [requests]
    drift: float = 0.0  # [requests/s]
    var: float = 0.0  # [requests^2/s]
    m: float = 0.0  # capacity [requests/s]
    duration_s: float = 0.0

    @property
    def transient(self) -> bool:
        return self.kind == "heavy_traffic" and math.isnan(self.tail_mean_s)

    def survival(self, t: np.ndarray) -> np.ndarray:
        """P(W > t) for t >= 0 (elementwise). [1]"""
        t = np.asarray(t, dtype=float)
        if self.kind == "blocked":
            return np.ones_like(t)
        if self.kind == "idle" or self.p_wait <= 0:
            return np.zeros_like(t)
        if not self.transient:
            return self.p_wait * np.exp(-t / self.tail_mean_s)
        mid = (np.arange(SUBSTEPS) + 0.5) * self.duration_s / SUBSTEPS
        tails = rbm_tail(t[..., None] * self.m, self.x0, self.drift, self.var, mid)
        return tails.mean(axis=-1)


def wait_model(
    lam: float, c_slots: float, mu: float, backlog: float, duration_s: float, *, ca2: float = 1.0, cs2: float = 1.0
) -> WaitModel:
    """How long arrivals wait (see module doc)."""
    if lam <= 0:
        return WaitModel("idle", 0.0, math.nan)
    m = c_slots * mu
    if m <= 0:
        return WaitModel("blocked", 1.0, math.inf)
    rho = lam / m
    c = int(math.floor(c_slots))
    if rho < HEAVY_TRAFFIC_RHO and backlog <= 0 and c >= 1:
        p = erlang_c(c, lam / mu)
        mean = allen_cunneen_mean_wait(c, lam, mu, ca2, cs2)
        return WaitModel("allen_cunneen", p, mean / p if p > 0 else math.nan)
    drift = lam - m
    var = max(lam * ca2 + m * cs2, 1e-300)
    if drift < 0 and duration_s >= RELAXATIONS * var / drift**2 and backlog <= var / abs(drift):
        return WaitModel("heavy_traffic", 1.0, var / (2.0 * abs(drift) * m))
    return WaitModel("heavy_traffic", 1.0, math.nan, backlog, drift, var, m, duration_s)


class WaitMixture:
    """Waiting times over many (pool, slice) models, each weighted by its arrivals."""

    GRID = 160  # points of the waiting-time grid [1]

    def __init__(self) -> None:
        self.weights: list[float] = []
        self.models: list[WaitModel] = []

    def add(self, weight: float, model: WaitModel) -> None:
        if weight > 0 and model.kind != "idle":
            self.weights.append(weight)
            self.models.append(model)

    def survival(self, t: np.ndarray) -> np.ndarray:
        """Arrival-weighted P(W > t). [1]"""
        t = np.asarray(t, dtype=float)
        total = sum(self.weights)
        if total <= 0:
            return np.zeros_like(t)
        w = np.array(self.weights)
        out = np.zeros_like(t)
        exp_idx = [i for i, m in enumerate(self.models) if not m.transient and m.kind != "blocked" and m.p_wait > 0]
        if exp_idx:
            p = np.array([self.models[i].p_wait for i in exp_idx])
            mean = np.array([self.models[i].tail_mean_s for i in exp_idx])
            out += (w[exp_idx, None] * p[:, None] * np.exp(-t[None, :] / mean[:, None])).sum(axis=0)
        for i, m in enumerate(self.models):
            if m.kind == "blocked":
                out += w[i]
            elif m.transient:
                out += w[i] * m.survival(t)
        return out / total

    def summary(self, cap_s: float, tau_s: float) -> dict[str, float]:
        """P(wait), P(wait > tau), mean of min(wait, cap) and its P95/P99 (capped at ``cap_s``). [1], [s]"""
        if not self.weights:
            return {"p_wait": 0.0, "p_late": 0.0, "mean_s": 0.0, "p95_s": 0.0, "p99_s": 0.0}
        grid = np.concatenate([[0.0], np.geomspace(cap_s * 1e-9, cap_s, self.GRID)])
        s = self.survival(grid)
        mean = float(np.trapezoid(s, grid))
        out = {
            "p_wait": float(s[0]),
            "p_late": float(self.survival(np.array([tau_s]))[0]),
            "mean_s": mean,
            "p95_s": _quantile(grid, s, 0.95),
            "p99_s": _quantile(grid, s, 0.99),
        }
        # below NOISE the figures are the models' numerical floor, not findings: zero
        return {k: (0.0 if abs(v) < NOISE else v) for k, v in out.items()}


def _quantile(grid: np.ndarray, survival: np.ndarray, q: float) -> float:
    """Smallest t on the grid's interpolation with P(W > t) <= 1 - q (the cap if never). [s]"""
    target = 1.0 - q
    if survival[0] <= target:
        return 0.0
    above = np.flatnonzero(survival <= target)
    if not len(above):
        return float(grid[-1])
    i = int(above[0])
    lo, hi = grid[i - 1], grid[i]
    s_lo, s_hi = survival[i - 1], survival[i]
    if s_lo == s_hi:
        return float(hi)
    return float(lo + (s_lo - target) * (hi - lo) / (s_lo - s_hi))
