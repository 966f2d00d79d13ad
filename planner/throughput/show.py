"""`planner throughput show`: each SKU's frontier for a workload, its measured points and the
throughput at the interactivity target (catalog workloads or a curve file)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NotRequired, TypedDict

import numpy as np

from planner.catalog.schema import Series
from planner.catalog.throughput import pareto_frontier, throughput_at
from planner.errors import ScenarioError


@dataclass(frozen=True, kw_only=True)
class SkuCurve:
    sku: str
    tier: str  # measured (estimates: not built yet)
    points: list[tuple[float, float]]  # every measured point [tok/s/user, tokens/s per GPU]
    frontier: list[tuple[float, float]]  # the Pareto frontier of them
    at_target: float | None  # throughput at the target [tokens/s per GPU]; None: out of reach
    basis: str  # how at_target was obtained, or why there is none


def curves(series: dict[str, list[Series]], target: float, label: str) -> list[SkuCurve]:
    """Per SKU (in order), its frontier and throughput at ``target``. [tok/s/user]"""
    out = []
    for sku, ss in series.items():
        if not ss:
            continue
        points = sorted((x, y) for s in ss for x, y in s.points)
        frontier = [(p.interactivity, p.tokens_per_s_per_gpu) for p in pareto_frontier(ss)]
        try:
            op = throughput_at(ss, target, sku=sku, workload=label)
            value, basis = op.tokens_per_s_per_gpu, op.basis
        except ScenarioError:
            value, basis = None, f"measured only up to {max(x for x, _ in points):g} tok/s/user"
        out.append(SkuCurve(sku=sku, tier="measured", points=points, frontier=frontier, at_target=value, basis=basis))
    return out


class ShowContext(TypedDict):
    """What the curves were drawn from (a curve file or a catalog workload), and the plot written."""

    curves_file: NotRequired[str]
    model: str
    isl: int  # [tokens]
    osl: int  # [tokens]
    plot: NotRequired[str]


class PointDoc(TypedDict):
    interactivity: float  # [tok/s/user]
    tokens_per_s_per_gpu: float


class SkuCurveDoc(TypedDict):
    sku: str
    tier: str
    at_target: float | None  # [tokens/s per GPU]
    basis: str
    points: list[PointDoc]
    frontier: list[PointDoc]


class ShowDoc(TypedDict):
    """The JSON document of `planner throughput show`."""

    workload: str
    interactivity: float  # the target [tok/s/user]
    curves_file: NotRequired[str]
    model: str
    isl: int
    osl: int
    plot: NotRequired[str]
    curves: list[SkuCurveDoc]


def to_dict(label: str, target: float, rows: list[SkuCurve], extra: ShowContext) -> ShowDoc:
    return {
        "workload": label,
        "interactivity": target,
        **extra,
        "curves": [
            {
                "sku": r.sku,
                "tier": r.tier,
                "at_target": r.at_target,
                "basis": r.basis,
                "points": [{"interactivity": x, "tokens_per_s_per_gpu": y} for x, y in r.points],
                "frontier": [{"interactivity": x, "tokens_per_s_per_gpu": y} for x, y in r.frontier],
            }
            for r in rows
        ],
    }


def plot_png(label: str, target: float, rows: list[SkuCurve]) -> bytes:
    """Frontiers (lines), measured points (dots) and the target (dashed), throughput on a log axis."""
    import io

    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    for r in rows:
        xs, ys = np.array(r.points).T
        (line,) = ax.plot(*np.array(r.frontier).T, "-", lw=1.6, label=r.sku)
        ax.plot(xs, ys, "o", ms=3.5, color=line.get_color(), alpha=0.6)
        if r.at_target is not None:
            ax.plot([target], [r.at_target], "D", ms=6, color=line.get_color())
    ax.axvline(target, color="grey", ls="--", lw=1.0, label=f"target {target:g} tok/s/user")
    ax.set_yscale("log")
    ax.set_xlabel("interactivity [tok/s/user]")
    ax.set_ylabel("total tokens/s per GPU (log)")
    ax.set_title(f"{label}: measured frontier per SKU")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
