"""Time aggregation: a year of slices solved as a few hundred, with a certified error bound.

Why it works. The single-period model couples slices only through the units. A slice's
demand vector that is dominated (every workload at or below) by another slice's is
feasible for every fleet that serves the dominating one, so capacity needs only the
**Pareto-maximal peak slices**; these are kept exactly. Energy (for SKUs that bill it) is
priced on every slice; slices are grouped by k-means on their mean-demand vectors and each
group is replaced by one slice with the group's total hours and hour-weighted mean demand,
dispatched at the mean (``mean = peak`` in that slice).

Why the error is bounded. For a fixed fleet the cheapest dispatch energy is a convex
function of demand, so the averaged slices never cost more than the slices they replace,
and dispatching at the mean with the capacity limit is a relaxation of dispatching at the
peak. Hence the aggregated MILP's dual bound is a **lower bound** on the exact optimum.
The aggregated fleet is then dispatched at full resolution (exact, per slice); that cost
is feasible, an **upper bound**. The reported error bound is ``(upper - lower) / upper``;
if it exceeds the target the groups are refined. With no energy billed, the Pareto slices
alone give the exact optimum (error 0 up to the MIP gap).

``max_tokens`` and ``min_cost_per_token`` count the tokens of every slice, so their groups
(``aggregate_tokens``) keep the mean demand and the largest mean/peak ratio of each group:
again a relaxation, bounded the same way (an upper bound on tokens, a lower bound on cost
per token), with the fleet dispatched at full resolution for the other bound. A servable
scenario is answered by the aggregated min_cost plan, which is then their optimum too.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import NotRequired  # pydantic reads them: not typing's on 3.11

import numpy as np
from scipy.cluster.vq import kmeans2
from typing_extensions import TypedDict

from planner.demand.curve import LoadCurve
from planner.milp.evaluate import Dispatch
from planner.milp.problem import FleetProblem
from planner.milp.solve import SolverOptions

AUTO_THRESHOLD_BUSY_VARIABLES = 20_000  # busy[s,w,t] count above which `auto` aggregates
DEFAULT_GROUPS = 96
TARGET_ERROR = 1e-3
MAX_REFINEMENTS = 3
REFINE_SHARE = 0.9  # a refinement splits the energy groups that hold this share of the error [1]
DISPATCH_CHUNK_SLICES = 50  # slices per dispatch LP; each chunk warm-starts from the last
UNSERVED_PENALTY = 10.0  # unserved token cost / the dearest energy per served token [1]


@dataclass(frozen=True)
class Aggregation:
    """How the slices were reduced."""

    curve: LoadCurve  # the reduced curve the MILP sees
    capacity_slices: np.ndarray  # indices (original) of the Pareto-maximal peak slices kept
    groups: int  # energy groups (0 when no SKU bills energy)
    labels: np.ndarray | None  # (T,) group of each original slice
    group_ids: np.ndarray | None = None  # (groups,) the label of each energy slice of ``curve``, in order


class AggregationReport(TypedDict):
    """The ``aggregation`` section of a plan's and a buildout's JSON: which mode ran, and its bound.

    ``exact`` has the first two keys only; an aggregated run adds what it reduced the slices to
    and its certified bounds: in $ (min_cost, a buildout's present value), in tokens (max_tokens)
    or in $ per million tokens (min_cost_per_token)."""

    mode: str  # exact | aggregated
    original_slices: int
    model_slices: NotRequired[int]
    capacity_slices: NotRequired[int]  # Pareto-maximal peak slices kept exactly
    energy_groups: NotRequired[int]
    refinements: NotRequired[int]
    lower_bound_usd: NotRequired[float | None]  # None: a myopic buildout (no horizon bound)
    upper_bound_usd: NotRequired[float]
    lower_bound_tokens: NotRequired[float]
    upper_bound_tokens: NotRequired[float]
    lower_bound_usd_per_million_tokens: NotRequired[float]
    upper_bound_usd_per_million_tokens: NotRequired[float]
    error_bound: NotRequired[float | None]  # (upper - lower) / upper [1]
    seconds: NotRequired[float]
    summary: NotRequired[str]


def busy_variable_count(problem: FleetProblem) -> int:
    return int((problem.throughput > 0).sum()) * len(problem.curve.start_hours)


def should_aggregate(problem: FleetProblem, mode: str) -> bool:
    """`on` always, `off` never, `auto` above the size threshold."""
    if mode == "off":
        return False
    return mode == "on" or busy_variable_count(problem) > AUTO_THRESHOLD_BUSY_VARIABLES


def pareto_maximal(peak: np.ndarray) -> np.ndarray:
    """Indices of columns of ``peak`` (W, T) not dominated by another column."""
    W, T = peak.shape
    if W == 1:
        return np.array([int(np.argmax(peak[0]))])
    # unique columns, largest total first: a column can only be dominated by one before it
    cols, first = np.unique(peak.T, axis=0, return_index=True)
    order = np.argsort(-cols.sum(axis=1), kind="stable")
    kept: list[int] = []
    kept_cols = np.empty((0, W))
    for i in order:
        c = cols[i]
        if kept_cols.shape[0] and (kept_cols >= c).all(axis=1).any():
            continue
        kept.append(int(first[i]))
        kept_cols = np.vstack([kept_cols, c])
    return np.array(sorted(kept))


def aggregate(problem: FleetProblem, groups: int) -> Aggregation:
    """The reduced curve: Pareto peak slices (zero hours) + energy groups (their hours)."""
    return aggregate_curve(problem.curve, any(s.energy_billed for s in problem.skus), groups)


def aggregate_curve(c: LoadCurve, billed: bool, groups: int, labels: np.ndarray | None = None) -> Aggregation:
    """``aggregate`` on a curve: ``billed`` says whether any SKU pays for energy (then groups price it).

    ``labels`` (T,), when given, are the energy groups (``refine``'s); else k-means makes ``groups``.
    """
    cap_idx = pareto_maximal(c.peak)
    starts, hours, means, peaks = (
        [c.start_hours[cap_idx]],
        [np.zeros(len(cap_idx))],
        [c.peak[:, cap_idx]],
        [c.peak[:, cap_idx]],
    )
    k, used = 0, None
    if billed:
        # equal slices merge exactly; distinct ones are grouped by k-means on scaled demand
        if labels is None:
            k, labels = _groups(_features(c), groups)
        else:
            k = int(labels.max(initial=-1)) + 1
        weights = np.bincount(labels, weights=c.slice_hours, minlength=k)
        used = np.flatnonzero(weights > 0)
        sums = np.vstack(
            [np.bincount(labels, weights=c.mean[w] * c.slice_hours, minlength=k) for w in range(c.mean.shape[0])]
        )
        avg = sums[:, used] / weights[used]
        first_start = np.array([c.start_hours[labels == g].min() for g in used], dtype=float)
        starts.append(first_start)
        hours.append(np.asarray(weights[used], dtype=float))
        means.append(avg)
        peaks.append(avg)
        k = len(used)
        total_hours = float(c.slice_hours.sum())
    else:
        labels = None
        # no energy priced: tokens still count; carry the whole span in one zero-capacity row
        total_hours = float(c.slice_hours.sum())
        avg = (c.mean * c.slice_hours).sum(axis=1, keepdims=True) / total_hours
        starts.append(np.array([c.start_hours[0]]))
        hours.append(np.array([total_hours]))
        means.append(avg)
        peaks.append(avg)
    reduced = LoadCurve(
        workloads=c.workloads,
        start_hours=np.concatenate(starts),
        slice_hours=np.concatenate(hours),
        mean=np.hstack(means),
        peak=np.hstack(peaks),
        seed=c.seed,
    )
    assert abs(reduced.slice_hours.sum() - total_hours) < 1e-6 * max(total_hours, 1.0)
    return Aggregation(reduced, cap_idx, k, labels, used)


def _features(c: LoadCurve) -> np.ndarray:
    """(T, W) what energy groups are made on: each slice's mean demand, scaled per workload to [0, 1]."""
    scale = np.maximum(c.mean.max(axis=1, keepdims=True), 1e-12)
    return (c.mean / scale).T


def group_gaps(problem: FleetProblem, agg: Aggregation, reduced: Dispatch, full: Dispatch) -> np.ndarray:
    """(labels,) each energy group's share of the error: its slices' busy cost at full resolution
    minus its aggregated slice's, for one fleet. [$]

    For a fixed fleet the fixed costs are equal in both models, so these add up to the full-resolution
    cost of the fleet minus its aggregated cost: where refining pays (``refine``).
    """
    from planner.milp.formulation import ratio

    assert agg.labels is not None and agg.group_ids is not None
    _, e = problem.gpu_hour_costs()  # busy $ per GPU-hour

    def busy_cost(curve: LoadCurve, d: Dispatch) -> np.ndarray:  # (T,) [$]
        return np.einsum("s,swt,wt->t", e, d.busy, ratio(curve)) * curve.slice_hours

    n = int(agg.labels.max(initial=-1)) + 1
    full_cost = np.bincount(agg.labels, weights=busy_cost(problem.curve, full), minlength=n)
    aggregated = np.zeros(n)
    aggregated[agg.group_ids] = busy_cost(agg.curve, reduced)[len(agg.capacity_slices) :]
    return full_cost - aggregated


def refine(c: LoadCurve, agg: Aggregation, gaps: np.ndarray, pieces: int = 4) -> Aggregation | None:
    """Split the energy groups that hold ``REFINE_SHARE`` of the error in ``pieces`` each (k-means
    within the group, seeded); the others stay. None when no such group can be split.
    """
    assert agg.labels is not None
    positive = np.maximum(gaps, 0.0)
    if positive.sum() <= 0:
        return None
    order = np.argsort(-positive, kind="stable")
    cumulative = np.cumsum(positive[order])
    chosen = order[: int(np.searchsorted(cumulative, REFINE_SHARE * cumulative[-1])) + 1]
    features = _features(c)
    labels = agg.labels.copy()
    next_id = int(labels.max()) + 1
    for g in chosen:
        rows = np.flatnonzero(agg.labels == g)
        k, sub = _groups(features[rows], pieces)
        if k > 1:
            labels[rows] = np.where(sub == 0, g, next_id + sub - 1)
            next_id += k - 1
    if next_id == int(agg.labels.max()) + 1:
        return None
    return aggregate_curve(c, True, 0, labels)


def _groups(features: np.ndarray, groups: int) -> tuple[int, np.ndarray]:
    """(k, label of each row): equal rows merge exactly, distinct ones by k-means (seeded)."""
    distinct, inverse = np.unique(features, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    if len(distinct) <= groups:
        return len(distinct), inverse
    # an empty cluster is harmless (only used groups become slices): silence its warning
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _, centre_of = kmeans2(distinct, int(groups), seed=np.random.default_rng(0), minit="++", missing="warn")
    return int(groups), centre_of[inverse]


def aggregate_tokens(problem: FleetProblem, groups: int) -> Aggregation:
    """The reduced curve for objectives that count tokens (max_tokens, min_cost_per_token).

    Slices are grouped by k-means on (mean demand scaled per workload, mean/peak ratio r). A
    group becomes one slice with the group's hours, its hour-weighted mean demand, and the
    largest r in the group (peak = mean / r). With mean-busy GPUs as variables, a slice's
    capacity row reads ``sum_w busy_mean / r_wt <= u G``; the largest r loosens it, and the
    most tokens (or least energy minus lambda tokens) is concave (convex) in the mean demand,
    so the group serves at least the tokens, at no more cost, than its slices together do:
    for every fleet, a relaxation. Hence its optimum bounds the exact one.
    """
    c = problem.curve
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(c.peak > 0, c.mean / c.peak, 0.0)
    scale = np.maximum(c.mean.max(axis=1, keepdims=True), 1e-12)
    k, labels = _groups(np.vstack([c.mean / scale, r]).T, groups)
    weights = np.bincount(labels, weights=c.slice_hours, minlength=k)
    used = np.flatnonzero(weights > 0)
    sums = np.vstack([np.bincount(labels, weights=c.mean[w] * c.slice_hours, minlength=k) for w in range(len(scale))])
    mean = sums[:, used] / weights[used]
    top = np.zeros((len(scale), k))
    for w in range(len(scale)):
        np.maximum.at(top[w], labels, r[w])
    top = top[:, used]
    with np.errstate(divide="ignore", invalid="ignore"):
        peak = np.where(top > 0, mean / top, 0.0)
    reduced = LoadCurve(
        workloads=c.workloads,
        start_hours=np.array([c.start_hours[labels == g].min() for g in used]),
        slice_hours=weights[used],
        mean=mean,
        peak=np.maximum(peak, mean),
        seed=c.seed,
    )
    return Aggregation(reduced, np.zeros(0, dtype=int), len(used), labels)


def dispatch_full_resolution(
    problem: FleetProblem, units: np.ndarray, agg: Aggregation, options: SolverOptions
) -> Dispatch | None:
    """Cheapest dispatch of a fixed fleet in every original slice (None if some slice cannot be served).

    Without billed energy any feasible dispatch is optimal: each slice takes the dispatch of a
    Pareto slice that dominates it, scaled per workload. With billed energy the per-slice
    LPs are solved in chunks with HiGHS (the fleet is fixed, so slices are independent).
    """
    if not any(s.energy_billed for s in problem.skus):
        return _scaled_dispatch(problem, units, agg, options)
    return dispatch_fleet(problem, units, options)


def _scaled_dispatch(
    problem: FleetProblem, units: np.ndarray, agg: Aggregation, options: SolverOptions
) -> Dispatch | None:
    from planner.milp.evaluate import extract_decision
    from planner.milp.formulation import build_fleet_model
    from planner.milp.solve import solve

    c = problem.curve
    idx = agg.capacity_slices
    cap_curve = LoadCurve(c.workloads, c.start_hours[idx], c.slice_hours[idx], c.peak[:, idx], c.peak[:, idx])
    skus = tuple(replace(s, min_units=int(n), max_units=float(n)) for s, n in zip(problem.skus, units, strict=True))
    fixed = replace(
        problem, skus=skus, curve=cap_curve, power_cap_mw=None, budget_usd_per_hour=None, capex_budget_usd=None
    )
    model = build_fleet_model(fixed, relax=True, allow_unserved=False)
    res = solve(model, options, mip=False)
    if not res.ok:
        return None
    _, d = extract_decision(model)
    # every slice -> a dominating Pareto slice; scale its dispatch by demand ratios
    P = c.peak[:, idx]  # (W, K)
    dominated = np.asarray((c.peak[:, :, None] <= P[:, None, :] * (1 + 1e-12)).all(axis=0))  # (T, K)
    owner = np.argmax(dominated, axis=1)
    if not dominated[np.arange(dominated.shape[0]), owner].all():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(P[:, owner] > 0, c.peak / P[:, owner], 0.0)  # (W, T)
    busy = d.busy[:, :, owner] * ratio[None, :, :]
    return Dispatch(busy, np.zeros_like(c.peak))


def busy_gpu_limit(problem: FleetProblem, units: np.ndarray) -> np.ndarray:
    """(S,) GPUs each SKU of a fixed fleet may keep busy: u x g x units (the formulation's capacity row)."""
    g = np.array([s.gpus_per_unit for s in problem.skus], dtype=float)
    return problem.utilization_caps() * g * np.asarray(units, dtype=float)


def dispatch_fleet(
    problem: FleetProblem, units: np.ndarray, options: SolverOptions, *, allow_unserved: bool = False
) -> Dispatch | None:
    """The dispatch of a fixed fleet in every slice, by per-slice LPs solved in chunks with HiGHS.

    Without ``allow_unserved`` every slice is served at its peak at the least energy cost (None
    if some slice cannot be). With it, each slice serves the most tokens it can, then at the
    least energy: unserved peak tokens/s cost more than any energy a busy GPU could save
    (``UNSERVED_PENALTY`` x the dearest energy per token), so the lexicographic order is exact.
    """
    import highspy

    from planner.milp.formulation import SECONDS_PER_HOUR, _ratio
    from planner.milp.solve import highs_solver

    c = problem.curve
    S, W, T = len(problem.skus), len(problem.workloads), len(c.start_hours)
    theta = problem.throughput
    cap = busy_gpu_limit(problem, units)
    # (P, 2) of (s, w): the pairs a busy GPU can exist for (a SKU with no units has none)
    pairs = np.argwhere((theta > 0) & (cap[:, None] > 0))
    P = len(pairs)
    ps, pw = pairs[:, 0], pairs[:, 1]
    _, e = problem.gpu_hour_costs()  # busy $ per GPU-hour
    r = _ratio(problem)
    # $ per unserved token: above the energy any busy GPU spends per token it serves
    per_token = UNSERVED_PENALTY * max(float((e[ps] / (theta[ps, pw] * SECONDS_PER_HOUR)).max(initial=0.0)), 1e-9)
    busy = np.zeros((S, W, T))
    unserved = np.zeros((W, T))
    U = W if allow_unserved else 0
    h, shape = highs_solver(options), -1
    for a in range(0, T, DISPATCH_CHUNK_SLICES):
        b = min(T, a + DISPATCH_CHUNK_SLICES)
        n = b - a
        # objective: e_s * h_t * r_wt per busy GPU at the peak; unserved: its tokens (and a little per peak tokens/s)
        cost = [(e[ps][None, :] * c.slice_hours[a:b, None] * r[pw][:, a:b].T).ravel()]
        if U:
            tokens = (r[:, a:b] * c.slice_hours[None, a:b] * SECONDS_PER_HOUR).T  # (n, W) per unserved tok/s
            cost.append((per_token * (tokens + 1e-6 * np.maximum(tokens.max(initial=0.0), 1.0))).ravel())
        demand = c.peak[:, a:b].ravel()
        if n != shape:  # the chunk's rows and columns; later chunks of its size change only costs and demand
            shape = n
            h.passModel(_dispatch_lp(np.concatenate(cost), demand, cap, pairs, theta, n, U))
        else:  # warm start from the previous chunk's basis: neighbouring slices share most of it
            nv, rows = n * (P + U), np.arange(S * n, (S + W) * n, dtype=np.int32)
            h.changeColsCost(nv, np.arange(nv, dtype=np.int32), np.concatenate(cost))
            h.changeRowsBounds(len(rows), rows, demand, demand)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        x = np.array(h.getSolution().col_value)
        busy[ps, pw, a:b] = np.maximum(x[: n * P].reshape(n, P).T, 0.0)
        if U:
            unserved[:, a:b] = np.maximum(x[n * P :].reshape(n, U).T, 0.0)
    return Dispatch(busy, unserved)


def _dispatch_lp(
    cost: np.ndarray, demand: np.ndarray, cap: np.ndarray, pairs: np.ndarray, theta: np.ndarray, n: int, U: int
):
    """The dispatch LP of ``n`` slices: busy GPUs per (pair, slice), then ``U`` unserved columns per slice.

    Rows: capacity (s, t) for every SKU (at most ``cap[s]`` busy GPUs), then serve_demand (w, t)
    for every workload (served + unserved = ``demand``, ordered w-major like ``peak[:, a:b]``).
    """
    import highspy

    S, W = theta.shape
    ps, pw = pairs[:, 0], pairs[:, 1]
    P = len(pairs)
    nv = n * (P + U)
    var = np.arange(n * P).reshape(n, P)
    lost = n * P + np.arange(n * U).reshape(n, U)
    groups = [var[:, ps == s] for s in range(S)]
    coefs = [np.ones(int((ps == s).sum())) for s in range(S)]
    for w in range(W):
        cols = var[:, pw == w]
        cf = theta[ps[pw == w], w]
        if U:
            cols = np.hstack([cols, lost[:, w : w + 1]])
            cf = np.append(cf, 1.0)
        groups.append(cols)
        coefs.append(cf)
    lengths = np.concatenate([np.full(n, cols.shape[1]) for cols in groups])
    starts = np.concatenate([[0], np.cumsum(lengths)])
    lp = highspy.HighsLp()
    lp.num_col_ = nv
    lp.num_row_ = len(starts) - 1
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(nv)
    lp.col_upper_ = np.full(nv, np.inf)
    lp.row_lower_ = np.concatenate([np.full(S * n, -np.inf), demand])
    lp.row_upper_ = np.concatenate([np.repeat(cap, n), demand])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = starts.astype(np.int32)
    lp.a_matrix_.index_ = np.concatenate([cols.ravel() for cols in groups]).astype(np.int32)
    lp.a_matrix_.value_ = np.concatenate([np.tile(cf, n) for cf in coefs]).astype(float)
    return lp


def summary(
    problem: FleetProblem, agg: Aggregation, lower: float, upper: float, seconds: float, rounds: int
) -> AggregationReport:
    T = len(problem.curve.start_hours)
    err = (upper - lower) / upper if upper > 0 else 0.0
    return {
        "mode": "aggregated",
        "original_slices": T,
        "model_slices": int(len(agg.curve.start_hours)),
        "capacity_slices": int(len(agg.capacity_slices)),
        "energy_groups": int(agg.groups),
        "refinements": rounds,
        "lower_bound_usd": lower,
        "upper_bound_usd": upper,
        "error_bound": max(err, 0.0),
        "seconds": seconds,
        "summary": f"{T} slices -> {len(agg.curve.start_hours)} ({len(agg.capacity_slices)} capacity-setting peak slices kept "
        f"exactly, {agg.groups} energy groups); cost within {max(err, 0.0):.3%} of the exact optimum (certified bound)",
    }


def fleet_capacity(problem: FleetProblem, units: np.ndarray, options: SolverOptions) -> np.ndarray:
    """What a fixed fleet can serve in each slice at that slice's workload mix. [tokens/s] (T,)

    For slice t with mix m = peak[:, t] / sum_w peak[w, t], the largest alpha such that alpha x m is
    served with every SKU at most at its utilisation cap (the formulation's capacity row, u x g x
    units), one small LP per distinct mix:
    max alpha  s.t.  sum_w b[s,w] <= u_s g_s n_s,  sum_s theta[s,w] b[s,w] >= alpha m_w,  b >= 0.
    The capacity is alpha; NaN where demand is zero (or the LP finds no answer).
    """
    import highspy

    from planner.milp.solve import highs_solver

    c = problem.curve
    theta = problem.throughput  # (S, W)
    S, W = theta.shape
    cap = busy_gpu_limit(problem, units)
    n = S * W + 1  # b[s, w] row-major, then alpha
    rows = [(np.arange(s * W, (s + 1) * W), np.ones(W)) for s in range(S)]
    out = np.full(c.peak.shape[1], np.nan)
    cache: dict[tuple, float] = {}
    for t in range(c.peak.shape[1]):
        peak = c.peak[:, t]
        total = float(peak.sum())
        if total <= 0:
            continue
        mix = peak / total
        key = tuple(np.round(mix, 9))
        if key not in cache:
            demand = [(np.append(np.arange(S) * W + w, n - 1), np.append(theta[:, w], -mix[w])) for w in range(W)]
            index = np.concatenate([i for i, _ in rows + demand])
            value = np.concatenate([v for _, v in rows + demand])
            lp = highspy.HighsLp()
            lp.num_col_, lp.num_row_ = n, S + W
            lp.col_cost_ = np.append(np.zeros(n - 1), -1.0)
            lp.col_lower_, lp.col_upper_ = np.zeros(n), np.full(n, np.inf)
            lp.row_lower_ = np.concatenate([np.full(S, -np.inf), np.zeros(W)])
            lp.row_upper_ = np.concatenate([cap, np.full(W, np.inf)])
            lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
            lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum([len(i) for i, _ in rows + demand])]).astype(np.int32)
            lp.a_matrix_.index_ = index.astype(np.int32)
            lp.a_matrix_.value_ = value.astype(float)
            h = highs_solver(options)
            h.passModel(lp)
            h.run()
            ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
            cache[key] = float(h.getSolution().col_value[-1]) if ok else np.nan
        out[t] = cache[key]
    return out
