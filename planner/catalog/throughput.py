"""Throughput at an interactivity target, from measured (interactivity, tokens/s) points.

A SKU's curve for a workload is the Pareto frontier of all its measured points: for a
target interactivity ``x`` it serves at the best throughput of any configuration whose
interactivity is at least ``x``.

* target at or below the frontier's lowest interactivity: the first frontier point
  (a measured configuration that is faster per user than required), labelled
  ``measured point at X tok/s/user (above target)``;
* target between two frontier points: monotone (PCHIP) interpolation of log throughput
  over interactivity, labelled ``interpolated``; measured curves fall roughly
  exponentially with interactivity, so log space follows them better than straight lines;
* target above the highest measured interactivity: an error naming the measured range.
  Nothing is extrapolated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from planner.catalog.schema import Series
from planner.errors import ScenarioError


@dataclass(frozen=True)
class FrontierPoint:
    interactivity: float
    tokens_per_s_per_gpu: float
    series: Series


@dataclass(frozen=True)
class OperatingPoint:
    """Throughput of one SKU on one workload at a target interactivity."""

    target_interactivity: float
    tokens_per_s_per_gpu: float
    basis: str
    series: Series  # the measured configuration at or just above the target

    @property
    def flops_basis(self) -> str:
        return self.series.flops_basis or f"{self.series.precision}_dense"


def pareto_frontier(series: list[Series]) -> list[FrontierPoint]:
    """Points not dominated by any other (higher or equal interactivity and throughput)."""
    points = [FrontierPoint(x, y, s) for s in series for x, y in s.points]
    # Highest interactivity first; keep a point only if it beats every point to its right.
    points.sort(key=lambda p: (-p.interactivity, -p.tokens_per_s_per_gpu))
    frontier: list[FrontierPoint] = []
    best = -np.inf
    for p in points:
        if p.tokens_per_s_per_gpu > best:
            if frontier and frontier[-1].interactivity == p.interactivity:
                frontier[-1] = p
            else:
                frontier.append(p)
            best = p.tokens_per_s_per_gpu
    frontier.reverse()
    return frontier


def _kind(series: Series) -> str:
    """ "measured", or "derived (how)" for a figure computed from a source's other figures."""
    return f"derived ({series.derived})" if series.derived else "measured"


def throughput_at(series: list[Series], target: float, *, sku: str, workload: str) -> OperatingPoint:
    """Best throughput meeting ``target`` tok/s/user. [tokens/s per GPU]"""
    if not series:
        raise ScenarioError(f"SKU '{sku}' has no measured throughput for workload '{workload}'")
    if not np.isfinite(target) or target <= 0:
        raise ScenarioError(f"interactivity target must be a positive number, got {target}")
    frontier = pareto_frontier(series)
    xs = np.array([p.interactivity for p in frontier])
    lo, hi = float(xs[0]), float(xs[-1])
    if target > hi + 1e-9:
        raise ScenarioError(
            f"SKU '{sku}' on workload '{workload}': no measurement reaches {target:g} tok/s/user; "
            f"measured interactivity spans {lo:g}-{hi:g} tok/s/user. Lower the target to at most {hi:g} "
            f"or leave this SKU out."
        )
    if target <= lo + 1e-9:
        p = frontier[0]
        kind = _kind(p.series)
        basis = kind if abs(target - lo) <= 1e-9 else f"{kind} point at {lo:g} tok/s/user (above target)"
        return OperatingPoint(target, p.tokens_per_s_per_gpu, basis, p.series)
    upper = next(p for p in frontier if p.interactivity >= target - 1e-9)
    if abs(upper.interactivity - target) <= 1e-9:
        return OperatingPoint(target, upper.tokens_per_s_per_gpu, _kind(upper.series), upper.series)
    ys = np.log([p.tokens_per_s_per_gpu for p in frontier])
    value = float(np.exp(PchipInterpolator(xs, ys)(target)))
    lower = frontier[int(np.searchsorted(xs, target)) - 1]
    basis = f"interpolated between {lower.interactivity:g} and {upper.interactivity:g} tok/s/user"
    return OperatingPoint(target, value, basis, upper.series)


def max_interactivity(series: list[Series]) -> float:
    """Highest measured interactivity. [tok/s/user]"""
    return max(x for s in series for x, _ in s.points)
