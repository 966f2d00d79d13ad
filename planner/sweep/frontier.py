"""Frontiers from a sweep table: cost per million tokens against a swept field (a power cap,
a budget, a price), the fleet mix along it, and the marginal value of one more unit of it.

The marginal value between two adjacent feasible points of a frontier is the saving in total
cost per year of operation per unit of the swept field:

    value = -(total_cost[i] - total_cost[i-1]) / (x[i] - x[i-1]) / (span_hours / 8760)

so along a power-cap frontier it is $ per MW-year (what one more MW is worth), along a
budget frontier $ per ($/h of budget)-year. It is a finite difference between whole plans,
not a MILP dual (which means nothing). Charts are drawn with matplotlib's Agg canvas
(no display, no global backend change) and returned as PNG bytes.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

HOURS_PER_YEAR = 8760.0
FEASIBLE = ("optimal", "time_limit")
MAX_LINES = 8
COST = "cost_per_million_tokens"


def unit_of(path: str) -> str:
    """The unit a path's name carries (``power_cap_mw`` -> MW)."""
    name = path.rsplit(".", 1)[-1]
    for suffix, unit in (
        ("_usd_per_hour", "$/h"),
        ("_usd_per_kwh", "$/kWh"),
        ("_usd_per_gpu", "$/GPU"),
        ("_usd", "$"),
        ("_mw", "MW"),
        ("cost_per_gpu_hour", "$/GPU-h"),
        ("_per_gpu", "kW"),
    ):
        if name.endswith(suffix):
            return unit
    return ""


def numeric_paths(df: pd.DataFrame, paths: list[str]) -> list[str]:
    """Swept paths with numeric values that take more than one value."""
    out = []
    for p in paths:
        if p not in df.columns:
            continue
        values = pd.to_numeric(df[p], errors="coerce")
        if values.notna().all() and values.nunique() > 1 and not pd.api.types.is_bool_dtype(df[p]):
            out.append(p)
    return out


def sku_ids(df: pd.DataFrame) -> list[str]:
    return [c[len("units.") :] for c in df.columns if c.startswith("units.")]


def frontier(df: pd.DataFrame, x: str, paths: list[str]) -> pd.DataFrame:
    """Points sorted by ``x`` within each combination of the other swept paths, with the
    marginal value of one more unit of ``x`` between adjacent feasible points.

    Columns: the other swept paths, ``x``, ``status``, ``feasible``, ``cost_per_million_tokens``,
    ``total_cost_usd``, ``power_mw``, ``run_rate_usd_per_hour``, ``span_hours``,
    ``marginal_usd_per_year`` (per unit of x, NaN at the first feasible point of a line) and
    ``marginal_at`` (the midpoint of the step it measures).
    """
    others = [p for p in paths if p != x and p in df.columns]
    keep = [*others, x, "status", COST, "total_cost_usd", "power_mw", "run_rate_usd_per_hour", "span_hours"]
    data = df[keep].copy()
    data[x] = pd.to_numeric(data[x]).astype(float)
    data["feasible"] = data["status"].isin(FEASIBLE)
    parts = []
    groups = data.groupby(others, sort=True, dropna=False) if others else [((), data)]
    for _, g in groups:
        g = g.sort_values(x, kind="stable").copy()
        value = np.full(len(g), math.nan)
        at = np.full(len(g), math.nan)
        prev: tuple[float, float] | None = None
        for i, (xv, ok, cost, span) in enumerate(
            zip(
                g[x].to_numpy(),
                g["feasible"].to_numpy(),
                g["total_cost_usd"].to_numpy(),
                g["span_hours"].to_numpy(),
                strict=True,
            )
        ):
            if not ok:
                continue
            if prev is not None and xv > prev[0]:
                years = span / HOURS_PER_YEAR
                value[i] = -(cost - prev[1]) / (xv - prev[0]) / years + 0.0  # + 0.0: no -0.0
                at[i] = (xv + prev[0]) / 2
            prev = (xv, cost)
        g["marginal_usd_per_year"] = value
        g["marginal_at"] = at
        parts.append(g)
    return pd.concat(parts, ignore_index=True)


def _label(row: pd.Series, others: list[str]) -> str:
    return ", ".join(f"{p.rsplit('.', 1)[-1]}={row[p]}" for p in others) or "frontier"


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def frontier_chart(df: pd.DataFrame, x: str, paths: list[str]) -> bytes:
    """``frontier_figure`` as PNG bytes."""
    return _png(frontier_figure(df, x, paths))


def frontier_figure(df: pd.DataFrame, x: str, paths: list[str]) -> Figure:
    """Three panels sharing the x axis: cost per million tokens from zero (one line per
    combination of the other swept paths, broken where a point is infeasible, infeasible points
    shaded as missing; the relative spread labelled), the fleet mix as stacked bars (MW by
    SKU; $/h by SKU when x is a budget) for the first line, and the marginal value of x."""
    fr = frontier(df, x, paths)
    others = [p for p in paths if p != x and p in df.columns]
    unit = unit_of(x)
    per = unit or f"unit of {x.rsplit('.', 1)[-1]}"
    shown_unit = f" [{unit}]" if unit else ""
    fig = Figure(figsize=(8.5, 9.0), layout="constrained")
    ax_cost, ax_mix, ax_mv = fig.subplots(3, 1, sharex=True, height_ratios=[3, 2.2, 1.8])
    lines = fr.groupby(others, sort=True, dropna=False) if others else [((), fr)]
    drawn = 0
    first_key: Any = None
    costs: list[float] = []
    for key, g in lines:
        if drawn >= MAX_LINES:
            break
        if first_key is None:
            first_key = key
        if g["feasible"].any():
            # infeasible points are NaN: the line breaks there (no plan), it never dips to zero
            y = g[COST].where(g["feasible"]).to_numpy(dtype=float)
            ax_cost.plot(g[x], y, marker="o", ms=4, lw=1.5, label=_label(g.iloc[0], others))
            costs += [v for v in y if np.isfinite(v)]
            drawn += 1
    bad = fr[~fr["feasible"]]
    if len(bad):
        xs_all = np.unique(fr[x].to_numpy(dtype=float))
        half = 0.5 * (float(np.min(np.diff(xs_all))) if len(xs_all) > 1 else 1.0)
        for i, xv in enumerate(np.unique(bad[x].to_numpy(dtype=float))):
            ax_cost.axvspan(
                xv - half * 0.9,
                xv + half * 0.9,
                color="tab:red",
                alpha=0.12,
                lw=0,
                label="infeasible: no plan" if i == 0 else None,
            )
    ax_cost.set_ylim(bottom=0)  # from zero: a 0.05 % change must not look like a cliff
    if costs:
        lo, hi = min(costs), max(costs)
        spread = (hi - lo) / lo if lo > 0 else 0.0
        ax_cost.set_ylim(0, hi * 1.15 if hi > 0 else 1.0)
        ax_cost.text(
            0.99,
            0.97,
            f"range ${lo:.4g} - ${hi:.4g}/M tokens: highest is {spread:.2%} above lowest",
            transform=ax_cost.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.7", "alpha": 0.9},
        )
    ax_cost.set_ylabel("$ per million tokens")
    ax_cost.set_title(f"Cost per million tokens vs {x}{shown_unit}", loc="left", fontsize=11)
    ax_cost.grid(alpha=0.3)
    if drawn or len(bad):
        ax_cost.legend(fontsize=8, loc="lower left")

    # fleet mix along the first line
    first = df
    if others and first_key is not None:
        key = first_key if isinstance(first_key, tuple) else (first_key,)
        mask = np.ones(len(df), dtype=bool)
        for p, v in zip(others, key, strict=True):
            mask &= (df[p] == v).to_numpy()
        first = df[mask]
    first = first[first["status"].isin(FEASIBLE)].copy()
    first[x] = pd.to_numeric(first[x]).astype(float)
    first = first.sort_values(x, kind="stable")
    stack = "run_rate_usd_per_hour" if unit == "$/h" else "power_mw"
    xs = first[x].to_numpy()
    width = 0.8 * (float(np.min(np.diff(np.unique(xs)))) if len(np.unique(xs)) > 1 else 1.0)
    bottom = np.zeros(len(first))
    for sku in sku_ids(df):
        vals = first[f"{stack}.{sku}"].fillna(0.0).to_numpy(dtype=float)
        if vals.sum() <= 0:
            continue
        ax_mix.bar(xs, vals, width=width, bottom=bottom, label=sku)
        bottom += vals
    ax_mix.set_ylabel("MW by SKU" if stack == "power_mw" else "$/h by SKU")
    where = f" ({_label(first.iloc[0], others)})" if others and len(first) else ""
    ax_mix.set_title(f"Fleet mix{where}", loc="left", fontsize=10)
    ax_mix.grid(alpha=0.3, axis="y")
    if len(first):
        ax_mix.legend(fontsize=8, loc="upper left")

    mv = fr[fr["marginal_usd_per_year"].notna()]
    if others and first_key is not None and len(mv):
        key = first_key if isinstance(first_key, tuple) else (first_key,)
        for p, v in zip(others, key, strict=True):
            mv = mv[mv[p] == v]
    if len(mv):
        ax_mv.bar(mv["marginal_at"], mv["marginal_usd_per_year"], width=width, color="tab:green")
        ax_mv.axhline(0, color="black", lw=0.8)
    ax_mv.set_ylabel(f"$/year per {per}")
    ax_mv.set_title(
        f"Marginal value of one more {per} (saving per year, between adjacent points)", loc="left", fontsize=10
    )
    ax_mv.set_xlabel(f"{x}{shown_unit}")
    ax_mv.grid(alpha=0.3, axis="y")
    return fig


def frontier_charts(df: pd.DataFrame, paths: list[str]) -> dict[str, bytes]:
    """One PNG per numeric swept path: ``frontier_<path>.png`` -> bytes."""
    return {f"frontier_{x.replace('.', '_')}.png": frontier_chart(df, x, paths) for x in numeric_paths(df, paths)}
