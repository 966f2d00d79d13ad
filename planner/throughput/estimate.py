"""Throughput on SKUs you have not measured: transfer from a SKU you have, with a stated band.

Every number carries a tier:

* ``measured``: the SKU's own measured frontier (interpolated, never extrapolated);
* ``transfer``: the user's measured frontier on an *anchor* SKU A at the same interactivity,
  times the ratio of the model's rooflines on B and A (:mod:`planner.throughput.roofline`),
  times the correction observed from A's generation to B's (hopper, blackwell, blackwell-rack)
  on at least :data:`MIN_MODELS` reference models (:func:`corrections`). The band is the spread
  of that estimator's errors on the reference models, leave-one-model-out (:func:`calibration`);
* ``roofline``: the ratio alone, for a generation pair too few reference models were measured
  on; its band is wider (the errors of every question, widened by :data:`ROOFLINE_WIDEN`) and it
  is low confidence.

Why the roofline ratio and not the ratio observed on reference models: on the shipped
reference set, leave-one-model-out, multiplying by the median ratio F_B(x)/F_A(x) of the
other models errs by a median 80 % (the serving recipes behind the reference models differ
more between SKUs than the hardware does), this estimator by 35 %; `planner throughput
accuracy` prints both.

Refused, never estimated: a SKU of another vendor than every measured one; a SKU without
bandwidth or scale-up figures in the catalog; an interactivity above the anchor's highest
measured point; one the roofline says the SKU cannot reach.
Flagged: NVL72 targets (the estimate is an aggregated deployment in the rack; wide-EP or
disaggregated recipes are not modelled), frameworks naming speculative decoding,
interactivity outside the reference set's measured range, and a precision label the roofline
does not know (:func:`assumed_precision`: estimated at an assumed precision, its band widened by
:data:`UNKNOWN_PRECISION_WIDEN`). Framework and serving-mode labels are never required to be
known: the anchor carries its own serving software over (noted), whatever its label.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import TypedDict

import numpy as np

from planner.catalog.load import Catalog
from planner.catalog.schema import Series
from planner.catalog.throughput import OperatingPoint, pareto_frontier, throughput_at
from planner.errors import ScenarioError
from planner.throughput.curves import CurvePoint, series_for
from planner.throughput.modelcfg import ModelConfig
from planner.throughput.roofline import Spec, precision_of, roofline, spec_of

GRID = (20.0, 35.0, 50.0, 75.0)  # interactivity of the accuracy report [tok/s/user]
QUANTILES = (0.125, 0.875)  # the band: the central 75 % of held-out errors
ROOFLINE_WIDEN = 1.5  # roofline-tier band = transfer-tier errors of all pairs x this, in log space
SPECULATIVE = ("mtp", "eagle", "medusa", "spec", "draft")
MIN_MODELS = 2  # reference models a generation pair's correction needs (one model's recipe is not evidence)
# the band of an estimate whose anchor point has a precision label the roofline does not know: its tier's
# log-error quantiles x this. Not measured (the reference set has no such label): the widening of the
# roofline tier, for a second assumption of the same order (the precision the ratio is computed at).
UNKNOWN_PRECISION_WIDEN = 1.5
BITS_PRECISION = {4: "fp4", 8: "fp8", 16: "bf16"}  # weight bits a label names -> the roofline precision of those bytes


class EstPointDoc(TypedDict):
    """An estimated point as written out (JSON of `planner throughput estimate`)."""

    interactivity: float  # [tok/s/user]
    tokens_per_s_per_gpu: float
    low: float
    high: float
    tier: str
    basis: str


class EstCurveDoc(TypedDict):
    sku: str
    tier: str
    points: list[EstPointDoc]


class EstimateDoc(TypedDict):
    """The JSON document of `planner throughput estimate`."""

    model: str
    isl: int  # [tokens]
    osl: int  # [tokens]
    curves: list[EstCurveDoc]
    notes: list[str]


@dataclass(frozen=True)
class EstPoint:
    interactivity: float  # [tok/s/user]
    tokens_per_s_per_gpu: float
    low: float
    high: float
    tier: str
    basis: str

    def to_dict(self) -> EstPointDoc:
        return EstPointDoc(**asdict(self))  # the document's keys are the fields


@dataclass
class EstCurve:
    sku: str
    tier: str  # measured | transfer | roofline (the least certain of its points) | refused
    points: list[EstPoint] = field(default_factory=list)

    def at(self, x: float) -> EstPoint | None:
        return next((p for p in self.points if abs(p.interactivity - x) <= 1e-9), None)


@dataclass
class Estimate:
    model: str
    isl: int
    osl: int
    curves: list[EstCurve]
    notes: list[str]

    def to_dict(self) -> EstimateDoc:
        return {
            "model": self.model,
            "isl": self.isl,
            "osl": self.osl,
            "curves": [{"sku": c.sku, "tier": c.tier, "points": [p.to_dict() for p in c.points]} for c in self.curves],
            "notes": self.notes,
        }


# --- reference set: groups measured on several SKUs ------------------------------------------


@dataclass(frozen=True)
class Group:
    """One reference workload: a model at a shape, precision and serving mode."""

    model: str
    isl: int
    osl: int
    precision: str
    mode: str  # agg | disagg


def _mode(framework: str) -> str:
    return framework.rsplit(" ", 1)[-1] if framework.endswith((" agg", " disagg")) else "agg"


@cache
def reference_groups() -> dict[Group, dict[str, list[Series]]]:
    """Reference points by group, then SKU, as catalog series."""
    from planner.throughput.reference import reference_points

    by: dict[Group, list[CurvePoint]] = {}
    for p in reference_points():
        by.setdefault(Group(p.model, p.isl, p.osl, p.precision, _mode(p.framework)), []).append(p)
    return {g: series_for(pts, model=g.model, isl=g.isl, osl=g.osl) for g, pts in by.items()}


def _in_range(series: list[Series], x: float) -> OperatingPoint | None:
    """The frontier at ``x`` when ``x`` lies within the measured interactivity range."""
    front = pareto_frontier(series)
    if not front[0].interactivity - 1e-9 <= x <= front[-1].interactivity + 1e-9:
        return None
    return throughput_at(series, x, sku="", workload="")


# --- the estimator ----------------------------------------------------------------------------


def _ratio(cfg: ModelConfig, a: Spec, b: Spec, precision: str, isl: int, osl: int, x: float) -> float | None:
    ra = roofline(cfg, a, precision, isl, osl, x)
    rb = roofline(cfg, b, precision, isl, osl, x)
    if ra <= 0 or rb <= 0:
        return None
    return rb / ra


@dataclass(frozen=True)
class Question:
    """One held-out question of the reference set: the model's frontier on A predicts it on B."""

    group: Group
    a: str
    b: str
    generations: tuple[str, str]  # of A and B
    x: float
    true: float
    anchor: float
    pred: float | None  # None: the roofline says B (or A) cannot reach x
    backend: str | None = None  # the serving backend both frontiers are restricted to (None: every framework)


def catalog_specs(catalog: Catalog) -> dict[str, Spec]:
    return {sku: s for sku, c in catalog.skus.items() if (s := spec_of(c)) is not None}


def backend_of(framework: str) -> str:
    """The serving backend of a framework label: ``trtllm-1.2.0rc6 disagg`` -> ``trtllm``."""
    return framework.strip().split(" ", 1)[0].split("-", 1)[0].lower()


@cache
def reference_questions(by_backend: bool = False) -> tuple[Question, ...]:
    """Every (group, A, B, x on :data:`GRID`) with both frontiers measured at x, shipped catalog.

    ``by_backend``: the frontiers of each serving backend on its own (the question of a user who
    keeps their framework on the new SKU), every backend measured on both SKUs; else the frontier
    over every framework measured on each SKU."""
    from planner.catalog.load import shipped_catalog
    from planner.throughput.reference import reference_configs

    specs = catalog_specs(shipped_catalog())
    cfgs = reference_configs()
    out = []
    for g, by_sku in reference_groups().items():
        prec = precision_of(g.precision)
        if prec is None or g.model not in cfgs:
            continue
        backends = sorted({backend_of(s.framework) for ser in by_sku.values() for s in ser}) if by_backend else [None]
        for k in backends:
            sub = {
                sku: [s for s in ser if k is None or backend_of(s.framework) == k]
                for sku, ser in by_sku.items()
                if sku in specs
            }
            for x in GRID:
                at = {s: op.tokens_per_s_per_gpu for s, ser in sub.items() if ser and (op := _in_range(ser, x))}
                for a, ya in at.items():
                    for b, yb in at.items():
                        if a == b:
                            continue
                        r = _ratio(cfgs[g.model], specs[a], specs[b], prec, g.isl, g.osl, x)
                        gens = (specs[a].generation, specs[b].generation)
                        out.append(Question(g, a, b, gens, x, yb, ya, None if r is None else ya * r, k))
    return tuple(out)


@cache
def corrections(exclude: frozenset[str] = frozenset()) -> dict[tuple[str, str], tuple[float, int]]:
    """(generation of A, of B) -> (log correction of the roofline ratio, reference models behind it).

    Per reference model (not in ``exclude``), the median of log(measured / roofline estimate)
    over its questions of that generation pair; the correction is the median over models, so
    that one model's recipe does not set it."""
    per: dict[tuple[str, str], dict[str, list[float]]] = {}
    for q in reference_questions():
        if q.pred is None or q.group.model in exclude:
            continue
        per.setdefault(q.generations, {}).setdefault(q.group.model, []).append(math.log(q.true / q.pred))
    return {
        k: (float(np.median([np.median(v) for v in by.values()])), len(by))
        for k, by in per.items()
        if len(by) >= MIN_MODELS
    }


def correction(a: Spec, b: Spec, exclude: Iterable[str] = ()) -> tuple[float, str, int]:
    """(log correction, tier, models behind it) for transferring from SKU ``a`` to ``b``."""
    c, n = corrections(frozenset(exclude)).get((a.generation, b.generation), (0.0, 0))
    return (c, "transfer", n) if n else (0.0, "roofline", 0)


@cache
def calibration(exclude: str | None = None) -> dict[str, tuple[float, float, int]]:
    """Per tier, the (low, high) log-error quantiles of the estimator on the reference questions
    of every model but ``exclude``, each question corrected without its own model, and how many
    questions they rest on. (The corrections of the other models' questions may use
    ``exclude``'s points; its own questions never enter.)"""
    errs: dict[str, list[float]] = {"transfer": [], "roofline": []}
    for q in reference_questions():
        if q.pred is None or q.group.model == exclude:
            continue
        c, n = corrections(frozenset({q.group.model})).get(q.generations, (0.0, 0))
        errs["transfer" if n else "roofline"].append(math.log(q.true / (q.pred * math.exp(c))))
    pooled = np.array(errs["transfer"] + errs["roofline"])
    plo, phi = np.quantile(pooled, QUANTILES)
    t = np.array(errs["transfer"]) if errs["transfer"] else pooled
    lo, hi = np.quantile(t, QUANTILES)
    return {
        "transfer": (float(lo), float(hi), len(t)),
        "roofline": (min(plo, lo) * ROOFLINE_WIDEN, max(phi, hi) * ROOFLINE_WIDEN, len(pooled)),
    }


@cache
def reference_range(sku: str) -> tuple[float, float]:
    """Interactivity measured on ``sku`` in the reference set. [tok/s/user]"""
    xs = [x for by in reference_groups().values() for s in by.get(sku, []) for x, _ in s.points]
    return (min(xs), max(xs)) if xs else (math.inf, -math.inf)


def _weight_bits(label: str) -> int | None:
    """The first number in a precision label, read as bits per weight: ``int4``, ``w4a16``, ``q4_k_m``
    -> 4; ``mxfp6`` -> 6; None without a number."""
    m = re.search(r"\d+", label)
    return int(m.group()) if m else None


@dataclass(frozen=True)
class PrecisionReading:
    """How the roofline reads a curve point's precision label."""

    precision: str  # the roofline precision whose weight and KV bytes are read (fp4, fp8, bf16)
    weight_only: bool  # compute at the BF16 peak whatever the bytes (weight-only quantisation)
    assumption: str | None  # what was assumed; None for a label the roofline knows


def _weight_only(spec: Spec) -> Spec:
    """``spec`` without its FP4 and FP8 peaks: every precision computes at its BF16 peak."""
    return dataclasses.replace(spec, tflops=tuple((k, v) for k, v in spec.tflops if k not in ("fp4", "fp8")))


def assumed_precision(label: str, known_on_anchor: Iterable[str] = ()) -> PrecisionReading:
    """How the roofline reads a curve point's precision label: as itself when it knows it
    (:func:`planner.throughput.roofline.precision_of`), else by an assumption, stated.

    An unknown label naming 4, 8 or 16 bits (``int4``, ``w4a16``, ``int8``) is read as weights of
    that many bits (the bytes of FP4, FP8 or BF16) computed at the BF16 peak: weight-only
    quantisation (GPTQ, AWQ), the common reading, and the cautious one (no tensor cores of the
    format speed it up; reading ``int4`` as FP4 compute would put B200 at 4x H200 for
    Qwen3-235B-A22B at 4000/1000 and 35 tok/s/user, against 2x at FP8). Any other label
    (``mxfp6``, ``awq``) is assumed to cost what the anchor's own known precision does
    (``known_on_anchor``: the known precisions of the anchor SKU's other measured points, the most
    measured first), so that the label's own cost cancels in the ratio B/A; with none, BF16."""
    prec = precision_of(label)
    if prec is not None:
        return PrecisionReading(prec, False, None)
    unknown = f"precision '{label}' is not one the roofline knows"
    bits = _weight_bits(label.strip().lower())
    if bits in BITS_PRECISION:
        prec = BITS_PRECISION[bits]
        how = f"read as {bits}-bit weights ({prec} bytes) computed at the BF16 peak (weight-only quantisation)"
        return PrecisionReading(prec, True, f"{unknown}: {how}")
    known = list(known_on_anchor)
    if known:
        how = f"assumed to cost what the anchor's measured {known[0]} does (the ratio B/A at {known[0]})"
        return PrecisionReading(known[0], False, f"{unknown}: {how}")
    return PrecisionReading(
        "bf16", False, f"{unknown}, nor any other precision measured on the anchor: the ratio B/A at bf16"
    )


def _known_precisions(series: list[Series]) -> list[str]:
    """The known roofline precisions of a SKU's measured series, the most measured points first."""
    count: dict[str, int] = {}
    for s in series:
        if (p := precision_of(s.precision)) is not None:
            count[p] = count.get(p, 0) + len(s.points)
    return sorted(count, key=lambda p: (-count[p], p))


def _anchor_rank(a: Spec, b: Spec, tier: str, assumed: bool) -> tuple:
    return (
        assumed,  # a point of a known precision first: one assumption fewer
        tier != "transfer",
        abs(math.log(a.hbm_tb_per_s / b.hbm_tb_per_s)),
        abs(math.log(a.scale_up_gpus / b.scale_up_gpus)),
        a.sku,
    )


def estimate(
    points: list[CurvePoint],
    cfg: ModelConfig,
    *,
    model: str,
    isl: int,
    osl: int,
    to: list[str],
    interactivity: list[float],
    catalog: Catalog,
    exclude_model: str | None = None,
) -> Estimate:
    """Throughput of ``model`` at ``isl``/``osl`` on each SKU of ``to`` at each interactivity,
    from the measured points (``points``, a curve file's), each number with its tier and band.

    ``exclude_model``: a reference model to leave out of the tiers and bands (held-out tests).
    """
    specs = catalog_specs(catalog)
    unknown = [s for s in to if s not in catalog.skus]
    if unknown:
        raise ScenarioError(f"--to: unknown SKU(s) {', '.join(unknown)} (catalog SKUs: {', '.join(catalog.skus)})")
    measured = series_for(points, model=model, isl=isl, osl=osl)
    if not measured:
        raise ScenarioError(
            f"no measured point of {model} at {isl}/{osl}; import one first (planner throughput import)"
        )
    notes: list[str] = []
    frameworks = {s.framework.lower() for ser in measured.values() for s in ser}
    if any(k in f for f in frameworks for k in SPECULATIVE):
        notes.append(
            "a measured framework names speculative decoding; the estimates assume the same acceptance on every SKU"
        )
    cal = calibration(exclude_model)
    curves = []
    for b in to:
        if b in measured:
            curves.append(_measured_curve(b, measured[b], interactivity, notes))
            continue
        if b not in specs:
            notes.append(f"{b}: refused: the catalog has no HBM bandwidth or scale-up figures for it")
            curves.append(EstCurve(b, "refused"))
            continue
        curves.append(_estimated_curve(b, measured, specs, cfg, isl, osl, interactivity, cal, notes, exclude_model))
    estimated = [c.sku for c in curves if c.tier in ("transfer", "roofline")]
    if estimated:
        anchors = [ser for sku, ser in measured.items() if sku in specs]  # the SKUs an estimate can start from
        names = ", ".join(sorted({backend_of(s.framework) for ser in anchors for s in ser}))
        notes.append(
            f"{', '.join(estimated)}: estimated for the serving software measured on the anchor ({names}); "
            "with another framework on the target the held-out error is larger (`planner throughput accuracy`: "
            "same_backend against all)"
        )
    return Estimate(model, isl, osl, curves, notes)


def model_config_for(model: str, path=None) -> ModelConfig:
    """The model's normalised config.json: the file given, else the reference model's of that name."""
    from planner.throughput.modelcfg import read_model_config
    from planner.throughput.reference import reference_configs

    if path is not None:
        return read_model_config(path)
    refs = reference_configs()
    if model in refs:
        return refs[model]
    raise ScenarioError(
        f"model '{model}' is not a reference model ({', '.join(refs)}); give its Hugging Face config.json "
        "(--model-config, or model_config: in the scenario's workload)"
    )


def _measured_curve(sku: str, series: list[Series], xs: list[float], notes: list[str]) -> EstCurve:
    c = EstCurve(sku, "measured")
    for x in xs:
        try:
            op = throughput_at(series, x, sku=sku, workload="the curve file")
        except ScenarioError as exc:
            notes.append(f"{sku} at {x:g}: {exc}")
            continue
        y = op.tokens_per_s_per_gpu
        c.points.append(EstPoint(x, y, y, y, "measured", op.basis))
    return c


def _estimated_curve(
    b: str,
    measured: dict[str, list[Series]],
    specs: dict[str, Spec],
    cfg: ModelConfig,
    isl: int,
    osl: int,
    xs: list[float],
    cal: dict[str, tuple[float, float, int]],
    notes: list[str],
    exclude_model: str | None,
) -> EstCurve:
    sb = specs[b]
    c = EstCurve(b, "transfer")
    anchors = [a for a in measured if a in specs and specs[a].vendor == sb.vendor]
    if not anchors:
        notes.append(
            f"{b}: refused: no measured SKU of the same vendor ({sb.vendor}); cross-vendor transfer has no reference pairs"
        )
        c.tier = "refused"
        return c
    if sb.scale_up_gpus > 8:
        notes.append(
            f"{b}: estimated as an aggregated deployment within its {sb.scale_up_gpus}-GPU domain; wide expert "
            "parallel or disaggregated recipes on it are not modelled"
        )
    lo_ref, hi_ref = reference_range(b)
    for x in xs:
        options = []
        for a in anchors:
            try:
                op = throughput_at(measured[a], x, sku=a, workload="the curve file")
            except ScenarioError:
                continue
            reading = assumed_precision(op.series.precision, _known_precisions(measured[a]))
            corr = correction(specs[a], sb, [exclude_model] if exclude_model else [])
            options.append((_anchor_rank(specs[a], sb, corr[1], reading.assumption is not None), a, op, reading, corr))
        if not options:
            notes.append(f"{b} at {x:g}: refused: no measured SKU reaches {x:g} tok/s/user (never extrapolated)")
            continue
        _, a, op, reading, (log_corr, tier, models) = min(options, key=lambda o: o[0])
        prec, assumption = reading.precision, reading.assumption
        sa, sb_read = (_weight_only(specs[a]), _weight_only(sb)) if reading.weight_only else (specs[a], sb)
        r = _ratio(cfg, sa, sb_read, prec, isl, osl, x)
        if r is None:
            notes.append(f"{b} at {x:g}: refused: the roofline says {b} (or {a}) cannot serve {x:g} tok/s/user")
            continue
        if not lo_ref <= x <= hi_ref:
            notes.append(
                f"{b} at {x:g}: outside the reference set's measured range on {b} ({lo_ref:g}-{hi_ref:g} tok/s/user); "
                "its band is not validated there"
            )
        y = op.tokens_per_s_per_gpu * r * math.exp(log_corr)
        qlo, qhi, n = cal[tier]
        if assumption is not None:
            qlo, qhi = min(qlo, qlo * UNKNOWN_PRECISION_WIDEN), max(qhi, qhi * UNKNOWN_PRECISION_WIDEN)
            flag = (
                f"{b}: estimated from {a}'s {op.series.precision} points; {assumption}; its band is widened "
                f"x {UNKNOWN_PRECISION_WIDEN:g} (in log space, not measured: no reference model has such a label)"
            )
            if flag not in notes:
                notes.append(flag)
        how = (
            f"x {math.exp(log_corr):.3g} observed on {models} reference model(s) from {specs[a].generation} to {sb.generation}"
            if tier == "transfer"
            else f"no reference model measured from {specs[a].generation} to {sb.generation}: low confidence"
        )
        basis = (
            f"{tier}: {a} {op.basis} ({op.tokens_per_s_per_gpu:,.1f}) x roofline ratio {r:.3g} at {prec} {how}; "
            f"band from {n} held-out reference errors"
            + (f" x {UNKNOWN_PRECISION_WIDEN:g} ({assumption})" if assumption is not None else "")
        )
        c.points.append(EstPoint(x, y, y * math.exp(qlo), y * math.exp(qhi), tier, basis))
    if not c.points:
        c.tier = "refused"
    elif any(p.tier == "roofline" for p in c.points):
        c.tier = "roofline"
    return c
