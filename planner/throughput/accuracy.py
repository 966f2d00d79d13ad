"""The estimator's error on models it has not seen: leave-one-model-out over the reference set.

For every reference model M, every workload of M (shape, precision, serving mode) measured on
two or more SKUs, every ordered SKU pair (A, B) and every interactivity of
:data:`planner.throughput.estimate.GRID` inside both measured ranges: M's frontier on A
predicts M on B, with M left out of the tiers and bands. Reported: absolute percentage error
of tokens/s per GPU (median, p75, p90) overall, per tier and per SKU pair; how often the band
holds the measured value and its median half-width ((high - low) / 2 / estimate); the decision
regret (per workload, interactivity and anchor, the SKU cheapest per token by the estimates
against the truly cheapest, at the catalog's hyperscaler $/GPU-hour); and, for scale, the
error of multiplying by the median ratio F_B(x)/F_A(x) of the other reference models, and the
error left with each model's own correction known (not held out: a floor, not an estimator).

Those questions compare each SKU's frontier over every framework measured on it. ``same_backend``
asks them per serving backend instead (trtllm, vllm, sglang: each backend's own frontier on A and
on B, where both were measured): the question of a user who keeps their framework on the new SKU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import numpy as np

import planner.progress as progress
from planner.throughput.estimate import GRID, Group, Question, calibration, corrections, reference_questions


@dataclass(frozen=True, kw_only=True)
class HeldOut:
    """One reference question estimated with its model left out (``pred``, ``low``, ``high``: the
    estimate and its band). [tokens/s per GPU]"""

    group: Group
    model: str
    a: str  # anchor SKU
    b: str  # estimated SKU
    x: float  # interactivity [tok/s/user]
    tier: str  # transfer | roofline
    true: float
    anchor: float
    pred: float
    low: float
    high: float
    ape: float  # |pred / true - 1| [1]


class ErrorStats(TypedDict):
    """Absolute percentage errors of a set of estimates (None: no estimate). [1]"""

    n: int
    median_ape: float | None
    p75_ape: float | None
    p90_ape: float | None


class BandedStats(ErrorStats):
    """With the band: how often it holds the measured value, its median half-width (absent: no estimate). [1]"""

    band_coverage: NotRequired[float]
    median_band_half_width: NotRequired[float]


PairStats = TypedDict(
    "PairStats",
    {
        "from": str,
        "to": str,
        "n": int,
        "median_ape": float | None,
        "p75_ape": float | None,
        "p90_ape": float | None,
        "band_coverage": NotRequired[float],
        "median_band_half_width": NotRequired[float],
    },
)  # BandedStats of one SKU pair ("from" is a keyword: the functional form)


class Regret(TypedDict):
    """Decisions by the estimates against the truly cheapest SKU (absent: no decision). [1]"""

    decisions: int
    within_10pct: NotRequired[float]
    median_regret: NotRequired[float]
    p90_regret: NotRequired[float]


class SameBackendStats(BandedStats):
    regret: Regret


class AccuracyReport(TypedDict):
    """The JSON document of `planner throughput accuracy`."""

    method: str
    interactivity: list[float]  # [tok/s/user]
    questions: int
    refused: int
    models: list[str]
    overall: BandedStats
    by_tier: dict[str, BandedStats]
    by_model: dict[str, BandedStats]
    by_pair: list[PairStats]
    by_interactivity: dict[str, BandedStats]
    regret: Regret
    baseline_median_ratio: ErrorStats
    oracle_model_correction: ErrorStats
    same_backend: SameBackendStats


def _stats(errors: list[float]) -> ErrorStats:
    if not errors:
        return {"n": 0, "median_ape": None, "p75_ape": None, "p90_ape": None}
    e = np.array(errors)
    return {
        "n": len(e),
        "median_ape": float(np.median(e)),
        "p75_ape": float(np.quantile(e, 0.75)),
        "p90_ape": float(np.quantile(e, 0.9)),
    }


def _banded(rows: list[HeldOut]) -> BandedStats:
    out: BandedStats = {**_stats([r.ape for r in rows])}
    if rows:
        out["band_coverage"] = float(np.mean([r.low <= r.true <= r.high for r in rows]))
        out["median_band_half_width"] = float(np.median([(r.high - r.low) / 2 / r.pred for r in rows]))
    return out


def _baseline(q: Question, questions: tuple[Question, ...]) -> float | None:
    ratios = [
        o.true / o.anchor
        for o in questions
        if o.a == q.a and o.b == q.b and o.x == q.x and o.group.model != q.group.model
    ]
    return q.anchor * float(np.median(ratios)) if ratios else None


def _oracle(questions: tuple[Question, ...]) -> ErrorStats:
    """The error left if each model's own median correction per generation pair were known: the floor of
    any estimator that corrects the roofline per model (what remains is recipe differences between a
    model's shapes, precisions and serving modes)."""
    logs: dict[tuple, list[float]] = {}
    for q in questions:
        if q.pred is not None:
            logs.setdefault((q.group.model, q.generations), []).append(math.log(q.true / q.pred))
    errors = [
        abs(q.pred * math.exp(float(np.median(logs[(q.group.model, q.generations)]))) / q.true - 1.0)
        for q in questions
        if q.pred is not None
    ]
    return _stats(errors)


def _regret(rows: list[HeldOut], prices: dict[str, float]) -> Regret:
    """Per (workload, x, anchor): the SKU cheapest per token by the estimates vs the truly cheapest."""
    by: dict[tuple[Group, float, str], dict[str, HeldOut]] = {}
    for r in rows:
        by.setdefault((r.group, r.x, r.a), {})[r.b] = r
    regrets = []
    for (_, _, a), others in by.items():
        if a not in prices or any(b not in prices for b in others):
            continue
        anchor = next(iter(others.values())).anchor
        true = {a: prices[a] / anchor} | {b: prices[b] / r.true for b, r in others.items()}
        est = {a: prices[a] / anchor} | {b: prices[b] / r.pred for b, r in others.items()}
        chosen = min(est, key=est.get)
        regrets.append(true[chosen] / min(true.values()) - 1.0)
    if not regrets:
        return {"decisions": 0}
    g = np.array(regrets)
    return {
        "decisions": len(g),
        "within_10pct": float(np.mean(g <= 0.10 + 1e-12)),
        "median_regret": float(np.median(g)),
        "p90_regret": float(np.quantile(g, 0.9)),
    }


def _rows(questions: tuple[Question, ...], what: str) -> tuple[list[HeldOut], int]:
    """Each question estimated as the shipped estimator would, its model left out; and how many
    the roofline refused."""
    rows: list[HeldOut] = []
    refused = 0
    for q in progress.track(questions, what):
        if q.pred is None:
            refused += 1
            continue
        m = q.group.model
        c, n = corrections(frozenset({m})).get(q.generations, (0.0, 0))
        tier = "transfer" if n else "roofline"
        lo, hi, _ = calibration(m)[tier]
        pred = q.pred * math.exp(c)
        rows.append(
            HeldOut(
                group=q.group,
                model=m,
                a=q.a,
                b=q.b,
                x=q.x,
                tier=tier,
                true=q.true,
                anchor=q.anchor,
                pred=pred,
                low=pred * math.exp(lo),
                high=pred * math.exp(hi),
                ape=abs(pred / q.true - 1.0),
            )
        )
    return rows, refused


def accuracy(prices: dict[str, float]) -> AccuracyReport:
    """The leave-one-model-out report (``prices``: $/GPU-hour per SKU, for the regret)."""
    questions = reference_questions()
    rows, refused = _rows(questions, "accuracy: held-out questions (leave one model out)")
    base = [abs(b / q.true - 1.0) for q in questions if q.pred is not None and (b := _baseline(q, questions))]
    same, _ = _rows(reference_questions(by_backend=True), "accuracy: the same backend on both SKUs")
    pairs = sorted({(r.a, r.b) for r in rows})
    models = sorted({r.model for r in rows})
    return {
        "method": "leave-one-model-out over the shipped reference set; estimate = measured on A x roofline ratio B/A x the generation pair's correction",
        "interactivity": list(GRID),
        "questions": len(rows),
        "refused": refused,
        "models": models,
        "overall": _banded(rows),
        "by_tier": {t: _banded([r for r in rows if r.tier == t]) for t in ("transfer", "roofline")},
        "by_model": {m: _banded([r for r in rows if r.model == m]) for m in models},
        "by_pair": [{"from": a, "to": b, **_banded([r for r in rows if (r.a, r.b) == (a, b)])} for a, b in pairs],
        "by_interactivity": {f"{x:g}": _banded([r for r in rows if r.x == x]) for x in GRID},
        "regret": _regret(rows, prices),
        "baseline_median_ratio": _stats(base),
        "oracle_model_correction": _oracle(questions),
        "same_backend": {**_banded(same), "regret": _regret(same, prices)},
    }
