"""The estimator's error as a user meets it (``planner throughput accuracy --protocol user``).

A case is one reference model M, one shape (isl/osl) of M, an ordered SKU pair (A, B) both
measured for M at that shape, and one interactivity x of :data:`GRID` at which B has a step
frontier value. The user's files are M's points on A at that shape (any precision, backend or
mode); the truth is B's *step frontier* at x: the best measured throughput at or above x, never
interpolated (what a plan can actually run). Points with a time to first token above
:data:`OVERLOADED_TTFT_MS` are dropped on both sides as overloaded.

The estimator is run as `planner throughput estimate` runs it, on A's points, with M left out
of the reference it learns from (``exclude_model``, as the leave-one-model-out report does).
Beside it, on the same cases, the naive baseline: A's step frontier at x times the median of
the B/A step-frontier ratios of every other reference model (matched at the same model, shape
and x), one number per SKU pair, constant in interactivity, its band their interquartile range.

Reported for both: absolute percentage error (answered cases; and every case with a refusal
counted as 100 %), band coverage and median half-width, refusals, the cheapest-SKU decision,
with confidence intervals from a bootstrap over models (models resampled with replacement: a
model's cases move together, since one model's recipes err together).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from planner.catalog.load import Catalog
from planner.errors import ScenarioError
from planner.throughput.curves import CurvePoint
from planner.throughput.estimate import GRID, estimate
from planner.throughput.modelcfg import ModelConfig

OVERLOADED_TTFT_MS = 10_000.0  # a point whose time to first token exceeds this is overloaded, dropped [ms]
DECISION_TOLERANCE = 0.10  # a pick within this of the truly cheapest cost per token is a good pick [1]
CI_LEVEL = 0.90  # the bootstrap confidence intervals' level [1]
DRAWS = 2000  # bootstrap resamples of the models
SEED = 0

Band = tuple[float, float, float]  # (estimate, low, high) [tokens/s per GPU]
# (model, isl, osl, the user's points on A, the SKUs to estimate, interactivities) -> (B, x) -> Band;
# a (B, x) absent from the answer is refused
Estimator = Callable[[str, int, int, list[CurvePoint], list[str], list[float]], dict[tuple[str, float], Band]]


def not_overloaded(points: Iterable[CurvePoint]) -> list[CurvePoint]:
    """The points whose time to first token is at most :data:`OVERLOADED_TTFT_MS` (or not stated)."""
    return [p for p in points if p.ttft_ms is None or p.ttft_ms <= OVERLOADED_TTFT_MS]


def step_frontier(points: Iterable[CurvePoint], x: float) -> float | None:
    """The best measured throughput at or above interactivity ``x`` (None: no point reaches ``x``). [tokens/s per GPU]"""
    ys = [p.tokens_per_s_per_gpu for p in points if p.interactivity >= x - 1e-9]
    return max(ys) if ys else None


@dataclass(frozen=True, kw_only=True)
class Case:
    """One question a user asks: M's points on ``a`` predict M on ``b`` at ``x``. [tokens/s per GPU]"""

    model: str
    isl: int  # [tokens]
    osl: int  # [tokens]
    a: str
    b: str
    x: float  # [tok/s/user]
    true: float  # B's step frontier at x
    anchor: float | None  # A's step frontier at x (None: A's points do not reach x)


def user_cases(points: Sequence[CurvePoint], grid: Sequence[float] = GRID) -> list[Case]:
    """Every case of the reference ``points`` (overloaded points dropped first), in a fixed order."""
    by: dict[tuple[str, int, int], dict[str, list[CurvePoint]]] = {}
    for p in not_overloaded(points):
        by.setdefault((p.model, p.isl, p.osl), {}).setdefault(p.sku, []).append(p)
    out = []
    for (model, isl, osl), skus in sorted(by.items()):
        for a in sorted(skus):
            for b in sorted(skus):
                if a == b:
                    continue
                for x in grid:
                    true = step_frontier(skus[b], x)
                    if true is not None:
                        anchor = step_frontier(skus[a], x)
                        out.append(Case(model=model, isl=isl, osl=osl, a=a, b=b, x=x, true=true, anchor=anchor))
    return out


def baseline_ratios(cases: Sequence[Case], exclude_model: str) -> dict[tuple[str, str], list[float]]:
    """Per SKU pair (A, B), the step-frontier ratios B/A of every model but ``exclude_model``, matched
    at the same model, shape and interactivity. [1]"""
    out: dict[tuple[str, str], list[float]] = {}
    for c in cases:
        if c.model != exclude_model and c.anchor is not None:
            out.setdefault((c.a, c.b), []).append(c.true / c.anchor)
    return out


def baseline_band(cases: Sequence[Case], case: Case) -> Band | None:
    """The naive baseline for ``case``: A's step value x the median ratio of the other models, band
    their interquartile range (None, refused: A does not reach x, or no other model on the pair)."""
    ratios = baseline_ratios(cases, case.model).get((case.a, case.b))
    if case.anchor is None or not ratios:
        return None
    q25, q50, q75 = np.quantile(ratios, (0.25, 0.5, 0.75))
    return case.anchor * float(q50), case.anchor * float(q25), case.anchor * float(q75)


def shipped_estimator(catalog: Catalog, configs: dict[str, ModelConfig]) -> Estimator:
    """`planner throughput estimate` on the user's points, the model left out of its reference."""

    def run(model: str, isl: int, osl: int, pts: list[CurvePoint], to: list[str], xs: list[float]):
        if model not in configs:
            return {}
        try:
            est = estimate(
                pts,
                configs[model],
                model=model,
                isl=isl,
                osl=osl,
                to=to,
                interactivity=xs,
                catalog=catalog,
                exclude_model=model,
            )
        except ScenarioError:  # e.g. a SKU the catalog does not know: every case refused
            return {}
        return {
            (c.sku, p.interactivity): (p.tokens_per_s_per_gpu, p.low, p.high)
            for c in est.curves
            if c.tier in ("transfer", "roofline")
            for p in c.points
        }

    return run


@dataclass(frozen=True, kw_only=True)
class Scored:
    """A case answered (or refused: ``band`` None) by one method."""

    case: Case
    band: Band | None

    @property
    def ape(self) -> float | None:
        """|estimate / true - 1| (None: refused). [1]"""
        return None if self.band is None else abs(self.band[0] / self.case.true - 1.0)

    @property
    def ape_refused_as_1(self) -> float:
        return 1.0 if self.band is None else abs(self.band[0] / self.case.true - 1.0)


def score(
    points: Sequence[CurvePoint], cases: Sequence[Case], estimator: Estimator
) -> tuple[list[Scored], list[Scored]]:
    """(estimator, baseline) on every case, in the cases' order."""
    user = not_overloaded(points)
    todo: dict[tuple[str, int, int, str], list[Case]] = {}
    for c in cases:
        todo.setdefault((c.model, c.isl, c.osl, c.a), []).append(c)
    answers: dict[tuple[str, int, int, str], dict[tuple[str, float], Band]] = {}
    for (model, isl, osl, a), cs in todo.items():
        pts = [p for p in user if p.model == model and p.isl == isl and p.osl == osl and p.sku == a]
        to = sorted({c.b for c in cs})
        xs = sorted({c.x for c in cs})
        answers[(model, isl, osl, a)] = estimator(model, isl, osl, pts, to, xs)
    est = [Scored(case=c, band=answers[(c.model, c.isl, c.osl, c.a)].get((c.b, c.x))) for c in cases]
    base = [Scored(case=c, band=baseline_band(cases, c)) for c in cases]
    return est, base


# --- statistics ------------------------------------------------------------------------------


class Interval(TypedDict):
    """A figure and its bootstrap confidence interval over models. [1]"""

    value: float | None
    ci: list[float] | None  # [low, high] at CI_LEVEL


class ErrorFigures(TypedDict):
    median_ape: Interval
    p75_ape: Interval
    p90_ape: Interval


class Decisions(TypedDict):
    """Per (model, shape, A, x) with two or more targets: is the SKU cheapest per token by the
    estimates within DECISION_TOLERANCE of the truly cheapest (no pick: every target refused and A
    not reaching x, counted as a miss)."""

    decisions: int
    within_10pct: int
    no_pick: int


class MethodReport(TypedDict):
    cases: int
    answered: int
    refused: int
    errors: ErrorFigures  # over answered cases
    errors_with_refusals_as_100pct: ErrorFigures  # over every case
    errors_on_cases_both_answered: ErrorFigures  # over the cases the estimator and the baseline both answered
    band_coverage: float | None  # over answered cases
    median_band_half_width: float | None  # (high - low) / 2 / estimate
    decisions: Decisions


class PairReport(TypedDict):
    a: str
    b: str
    models: int  # reference models measured on both (after dropping overloaded points)
    cases: int
    estimator_median_ape: float | None
    baseline_median_ape: float | None
    estimator_refused: int
    baseline_refused: int


class UserReport(TypedDict):
    """The JSON document of `planner throughput accuracy --protocol user`."""

    protocol: str
    method: str
    interactivity: list[float]  # [tok/s/user]
    overloaded_ttft_ms: float  # [ms]
    seed: int
    draws: int
    ci_level: float
    cases: int
    models: list[str]
    estimator: MethodReport
    baseline: MethodReport
    median_difference_with_refusals: Interval  # estimator - baseline, every case, refusals as 100 %
    by_pair: list[PairReport]
    by_model: dict[str, dict[str, float | int | None]]


QS = {"median_ape": 0.5, "p75_ape": 0.75, "p90_ape": 0.9}


def _q(values: Sequence[float], q: float) -> float | None:
    return float(np.quantile(values, q)) if len(values) else None


def bootstrap(by_model: dict[str, list[float]], q: float, resamples: np.ndarray) -> list[float] | None:
    """CI of the ``q``-quantile of the pooled values, models resampled (``resamples``: draws x models,
    indices into ``sorted(by_model)``); a draw whose models hold no value is skipped."""
    groups = [np.asarray(by_model[m], dtype=float) for m in sorted(by_model)]
    stats = []
    for row in resamples:
        pooled = np.concatenate([groups[i] for i in row])
        if pooled.size:
            stats.append(float(np.quantile(pooled, q)))
    if not stats:
        return None
    alpha = (1.0 - CI_LEVEL) / 2
    lo, hi = np.quantile(stats, (alpha, 1.0 - alpha))
    return [float(lo), float(hi)]


def resample_models(n_models: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` resamples of ``n_models`` model indices, with replacement."""
    return rng.integers(0, n_models, size=(draws, n_models))


def _figures(rows: list[Scored], models: list[str], resamples: np.ndarray, refused_as_1: bool) -> ErrorFigures:
    by: dict[str, list[float]] = {m: [] for m in models}
    for r in rows:
        e = r.ape_refused_as_1 if refused_as_1 else r.ape
        if e is not None:
            by[r.case.model].append(e)
    pooled = [e for m in models for e in by[m]]
    return {k: {"value": _q(pooled, q), "ci": bootstrap(by, q, resamples)} for k, q in QS.items()}  # type: ignore[return-value]


def decisions(rows: list[Scored], prices: dict[str, float]) -> Decisions:
    """The cheapest-SKU pick by the estimates against the truly cheapest (A is a candidate, at its
    measured step value, when it reaches x; SKUs without a price are left out)."""
    by: dict[tuple[str, int, int, str, float], list[Scored]] = {}
    for r in rows:
        c = r.case
        if c.b in prices and c.a in prices:
            by.setdefault((c.model, c.isl, c.osl, c.a, c.x), []).append(r)
    n = within = no_pick = 0
    for (_, _, _, a, _), rs in sorted(by.items()):
        if len(rs) < 2:
            continue
        n += 1
        anchor = rs[0].case.anchor
        true = {r.case.b: prices[r.case.b] / r.case.true for r in rs}
        est = {r.case.b: prices[r.case.b] / r.band[0] for r in rs if r.band is not None}
        if anchor is not None:
            true[a] = est[a] = prices[a] / anchor
        if not est:
            no_pick += 1
            continue
        chosen = min(sorted(est), key=lambda s: est[s])
        within += true[chosen] <= (1.0 + DECISION_TOLERANCE) * min(true.values()) + 1e-12
    return {"decisions": n, "within_10pct": within, "no_pick": no_pick}


def _method(
    rows: list[Scored], other: list[Scored], models: list[str], resamples: np.ndarray, prices: dict[str, float]
) -> MethodReport:
    """One method's figures (``other``: the other method on the same cases, for the common cases)."""
    answered = [r for r in rows if r.band is not None]
    both = [r for r, o in zip(rows, other, strict=True) if r.band is not None and o.band is not None]
    return {
        "cases": len(rows),
        "answered": len(answered),
        "refused": len(rows) - len(answered),
        "errors": _figures(rows, models, resamples, refused_as_1=False),
        "errors_with_refusals_as_100pct": _figures(rows, models, resamples, refused_as_1=True),
        "errors_on_cases_both_answered": _figures(both, models, resamples, refused_as_1=False),
        "band_coverage": float(np.mean([r.band[1] <= r.case.true <= r.band[2] for r in answered]))
        if answered
        else None,
        "median_band_half_width": (
            float(np.median([(r.band[2] - r.band[1]) / 2 / r.band[0] for r in answered])) if answered else None
        ),
        "decisions": decisions(rows, prices),
    }


def _difference(est: list[Scored], base: list[Scored], models: list[str], resamples: np.ndarray) -> Interval:
    """Median error (refusals as 100 %) of the estimator minus the baseline's, with its bootstrap CI
    (the same resamples for both: a paired comparison)."""
    e = {m: [r.ape_refused_as_1 for r in est if r.case.model == m] for m in models}
    b = {m: [r.ape_refused_as_1 for r in base if r.case.model == m] for m in models}
    stats = []
    for row in resamples:
        pe = [v for i in row for v in e[models[i]]]
        pb = [v for i in row for v in b[models[i]]]
        if pe:
            stats.append(float(np.median(pe) - np.median(pb)))
    all_e = [v for m in models for v in e[m]]
    all_b = [v for m in models for v in b[m]]
    if not all_e:
        return {"value": None, "ci": None}
    alpha = (1.0 - CI_LEVEL) / 2
    lo, hi = np.quantile(stats, (alpha, 1.0 - alpha))
    return {"value": float(np.median(all_e) - np.median(all_b)), "ci": [float(lo), float(hi)]}


def _pairs(points: Sequence[CurvePoint], est: list[Scored], base: list[Scored]) -> list[PairReport]:
    skus_of: dict[str, set[str]] = {}
    for p in not_overloaded(points):
        skus_of.setdefault(p.sku, set()).add(p.model)
    out: list[PairReport] = []
    for a, b in sorted({(r.case.a, r.case.b) for r in est}):
        e = [r for r in est if (r.case.a, r.case.b) == (a, b)]
        g = [r for r in base if (r.case.a, r.case.b) == (a, b)]
        out.append(
            {
                "a": a,
                "b": b,
                "models": len(skus_of[a] & skus_of[b]),
                "cases": len(e),
                "estimator_median_ape": _q([r.ape for r in e if r.ape is not None], 0.5),
                "baseline_median_ape": _q([r.ape for r in g if r.ape is not None], 0.5),
                "estimator_refused": sum(r.band is None for r in e),
                "baseline_refused": sum(r.band is None for r in g),
            }
        )
    return out


def user_accuracy(
    points: Sequence[CurvePoint],
    estimator: Estimator,
    prices: dict[str, float],
    *,
    rng: np.random.Generator,
    seed: int,
    draws: int = DRAWS,
    grid: Sequence[float] = GRID,
) -> UserReport:
    """The user-shaped report on the reference ``points`` (``prices``: $/GPU-hour per SKU, for the
    decisions; ``rng`` drives the bootstrap, ``seed`` is the seed it was made from, recorded)."""
    cases = user_cases(points, grid)
    est, base = score(points, cases, estimator)
    models = sorted({c.model for c in cases})
    resamples = resample_models(len(models), draws, rng)
    by_model: dict[str, dict[str, float | int | None]] = {}
    for m in models:
        e = [r.ape for r in est if r.case.model == m]
        g = [r.ape for r in base if r.case.model == m]
        by_model[m] = {
            "cases": len(e),
            "estimator_median_ape": _q([v for v in e if v is not None], 0.5),
            "baseline_median_ape": _q([v for v in g if v is not None], 0.5),
            "estimator_refused": sum(v is None for v in e),
            "baseline_refused": sum(v is None for v in g),
        }
    return {
        "protocol": "user",
        "method": (
            "per reference model, shape and ordered SKU pair (A, B): the model's points on A (the user's files) "
            "predict B's step frontier (best measured throughput at or above x) at each x; points with time to "
            f"first token above {OVERLOADED_TTFT_MS / 1000:g} s dropped; the estimator learns without the model; "
            "baseline = A's step value x the median B/A step ratio of the other models (constant in x, band = "
            "interquartile range); CIs: bootstrap over models"
        ),
        "interactivity": list(grid),
        "overloaded_ttft_ms": OVERLOADED_TTFT_MS,
        "seed": seed,
        "draws": draws,
        "ci_level": CI_LEVEL,
        "cases": len(cases),
        "models": models,
        "estimator": _method(est, base, models, resamples, prices),
        "baseline": _method(base, est, models, resamples, prices),
        "median_difference_with_refusals": _difference(est, base, models, resamples),
        "by_pair": _pairs(points, est, base),
        "by_model": by_model,
    }
