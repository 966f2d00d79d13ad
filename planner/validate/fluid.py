"""The coarse model for the slices not simulated request by request: Erlang C plus a fluid queue.

Per slice and pool (``c`` slots up on average over the slice, each serving ``mu`` requests/s,
``lambda`` requests/s routed to it at the slice's peak rate):

* the share of arrivals waiting longer than the target ``tau`` is the smaller of two
  upper estimates: the M/M/c steady state ``C(c, a) exp(-(c mu - lambda) tau)`` (Erlang C,
  ``a = lambda/mu``, from Poisson tails ``B = P(N=c)/P(N<=c)``, stable for ``c`` in the
  millions), which is right when the pool is not near saturation but says "everyone waits"
  as rho -> 1 although an hour is far too short to get there; and the time-average over
  the slice of a reflected Brownian motion (heavy traffic: queue beyond the slots, drift
  ``lambda - c mu``, variance ``lambda ca^2 + c mu cs^2`` per second, started from the
  inherited backlog), late when the queue exceeds ``tau c mu``. Both are conservative with
  fixed request lengths (the request-level windows report the difference);
* a fluid backlog, ``lambda - c mu`` requests/s when positive, carries over to the next
  slice and is capped at ``patience x c mu``: the excess gives up (unserved), and arrivals
  behind a fluid backlog longer than ``tau`` are late. Evaluated on ``SUBSTEPS``
  sub-intervals per slice.
* a failure in the slice interrupts the requests on its domain (``rho x`` slots per
  domain): they miss the SLO.

Utilisation counts the slots kept busy, ``min(lambda, c mu) / mu``, at the slice's mean rate.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

SUBSTEPS = 12


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


def rbm_tail(x: float, x0: float, drift: float, var: float, t: float) -> float:
    """P(R(t) > x) for a reflected Brownian motion from x0 with this drift and variance rate. [1]"""
    if t <= 0 or var <= 0:
        return float(x0 + drift * t > x)
    sd = math.sqrt(var * t)
    first = stats.norm.cdf((x - x0 - drift * t) / sd)
    log_second = 2.0 * drift * x / var + stats.norm.logcdf((-x - x0 - drift * t) / sd)
    below = first - math.exp(min(float(log_second), 0.0))
    return min(1.0, max(0.0, 1.0 - below))


def slice_queue(
    lam_peak: float,
    c_slots: float,
    mu: float,
    backlog: float,
    hours: float,
    tau_s: float,
    patience_s: float,
    *,
    ca2: float = 1.0,
    cs2: float = 1.0,
) -> tuple[float, float, float]:
    """(late share of arrivals, given-up share of arrivals, backlog at the end [requests]).

    ``ca2``, ``cs2``: squared coefficients of variation of inter-arrival and service times.
    """
    if lam_peak <= 0:
        m = c_slots * mu
        return 0.0, 0.0, max(0.0, backlog - m * hours * 3600.0)
    m = c_slots * mu
    if m <= 0:
        return 1.0, 1.0, backlog
    rho = lam_peak / m
    duration = hours * 3600.0
    var = lam_peak * ca2 + m * cs2
    mid = (np.arange(SUBSTEPS) + 0.5) * duration / SUBSTEPS
    diffusion = float(np.mean([rbm_tail(tau_s * m, backlog, lam_peak - m, var, float(t)) for t in mid]))
    steady = erlang_c(int(math.floor(c_slots)), lam_peak / mu) * math.exp(-(m - lam_peak) * tau_s) if rho < 1 else 1.0
    estimate = min(steady, diffusion)
    if backlog <= 0 and rho < 1:
        return min(1.0, estimate), 0.0, 0.0
    dt = hours * 3600.0 / SUBSTEPS
    cap = patience_s * m
    late_time = 0.0
    lost = 0.0
    q = backlog
    limit = tau_s * m  # backlog beyond which an arrival waits longer than tau
    for _ in range(SUBSTEPS):
        q_next = q + (lam_peak - m) * dt
        if q_next > cap:
            lost += q_next - cap
            q_next = cap
        q_next = max(q_next, 0.0)
        lo, hi = min(q, q_next), max(q, q_next)
        if lo >= limit:
            late_time += dt
        elif hi > limit:
            late_time += dt * (hi - limit) / (hi - lo)
        q = q_next
    arrivals = lam_peak * hours * 3600.0
    late = max(late_time / duration, estimate)
    return min(1.0, late), min(1.0, lost / arrivals), q
