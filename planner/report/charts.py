"""Charts of a plan (and of a buildout) for the reports, drawn on matplotlib's Agg canvas and returned as PNG bytes."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from planner.buildout.run import BuildoutPlan
from planner.milp.aggregate import fleet_capacity
from planner.milp.problem import FleetProblem
from planner.milp.solve import SolverOptions
from planner.optimize.plan import FleetPlan


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def load_vs_capacity_chart(problem: FleetProblem, plan: FleetPlan, options: SolverOptions) -> bytes:
    """Top: demand (peak within each slice, and mean) against the fleet's capacity at each
    slice's workload mix, with the tokens/s each SKU serves at the peak (the plan's dispatch)
    stacked. Bottom: peak demand as a share of that capacity, against the utilisation cap.
    """
    assert plan.dispatch is not None, "a feasible plan carries its dispatch"
    c = problem.curve
    hours = c.start_hours
    served = (problem.throughput[:, :, None] * plan.dispatch.busy).sum(axis=1)  # (S, T) tokens/s at peak
    peak_total = c.peak.sum(axis=0)
    capacity = fleet_capacity(problem, np.array([f.units for f in plan.fleet], dtype=float), options)
    load_share = np.divide(peak_total, capacity, out=np.full_like(peak_total, np.nan), where=capacity > 0)

    fig = Figure(figsize=(9.5, 6.8), layout="constrained")
    ax, ax_u = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.6])
    used = [j for j, f in enumerate(plan.fleet) if f.units > 0 and served[j].sum() > 0]
    ax.stackplot(
        hours,
        *(served[j] / 1e6 for j in used),
        labels=[f"served by {plan.fleet[j].sku}" for j in used],
        alpha=0.7,
        step="post",
    )
    ax.step(hours, peak_total / 1e6, where="post", color="black", lw=1.2, label="demand, peak in slice")
    ax.step(hours, c.mean.sum(axis=0) / 1e6, where="post", color="dimgray", lw=1.0, ls="--", label="demand, mean")
    ax.step(hours, capacity / 1e6, where="post", color="tab:red", lw=1.4, label="fleet capacity (at the cap)")
    top = np.nanmax(np.concatenate([capacity, peak_total])) / 1e6
    ax.set_ylim(0, top * 1.35)
    ax.set_ylabel("M tokens/s")
    ax.set_title("Load against capacity", loc="left", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", ncol=3)
    ax_u.step(
        hours,
        load_share * problem.max_utilization * 100,
        where="post",
        color="black",
        lw=1.2,
        label="busy share of the fleet at peak",
    )
    ax_u.axhline(problem.max_utilization * 100, color="tab:red", ls="--", lw=1.0, label="utilisation cap")
    ax_u.set_ylim(0, 125)
    ax_u.set_ylabel("%")
    ax_u.set_xlabel("hour")
    ax_u.grid(alpha=0.3)
    ax_u.legend(fontsize=8, loc="upper right", ncol=2)
    return _png(fig)


def gpus_down_chart(hours: np.ndarray, down: dict[str, np.ndarray]) -> bytes:
    """GPUs unavailable (failed or in maintenance) per SKU over the simulated span, stacked.

    ``hours``: each slice's start [h] (T,); ``down``: per SKU, GPUs down in each slice (T,).
    """
    fig = Figure(figsize=(9.5, 3.2), layout="constrained")
    ax = fig.subplots()
    names = list(down)
    ax.stackplot(hours, *(down[n] for n in names), labels=names, alpha=0.75, step="post")
    total = np.sum([down[n] for n in names], axis=0) if names else np.zeros_like(hours)
    ax.set_ylim(0, max(float(np.max(total, initial=0.0)) * 1.25, 1.0))
    ax.set_xlim(float(hours[0]), float(hours[-1]) + (float(hours[1] - hours[0]) if len(hours) > 1 else 1.0))
    ax.set_ylabel("GPUs down")
    ax.set_xlabel("hour")
    ax.set_title("GPUs unavailable during the validation run", loc="left", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", ncol=7)
    return _png(fig)


def buildout_cost_chart(plan: BuildoutPlan) -> bytes:
    """A buildout's cost per period stacked by ledger line (``cost_breakdown_usd``: the bars reach
    the period's cost), and its cost per million tokens on the right-hand axis."""
    from planner.economics import LEDGER_LABELS

    labels = [r.period for r in plan.periods]
    x = np.arange(len(labels))
    fig = Figure(figsize=(9.5, 4.6), layout="constrained")
    ax = fig.subplots()
    bottom = np.zeros(len(labels))
    for key, label in LEDGER_LABELS.items():
        usd = np.array([(r.cost_breakdown_usd or {}).get(key, 0.0) for r in plan.periods]) / 1e6
        if usd.any():
            ax.bar(x, usd, bottom=bottom, label=label, alpha=0.85)
            bottom += usd
    ax.set_ylim(0, max(float(bottom.max(initial=0.0)), 1e-9) * 1.3)  # room for the legend above the bars
    ax.set_ylabel("cost in the period [$M]")
    ax.set_xticks(x, labels)
    ax.set_title("Cost per period by ledger line, and cost per million tokens", loc="left", fontsize=11)
    ax.grid(alpha=0.3, axis="y")
    right = ax.twinx()
    right.set_ylabel("$ per million tokens")
    per_token = np.array([r.cost_per_million_tokens for r in plan.periods], dtype=float)
    finite = per_token[np.isfinite(per_token)]
    right.set_ylim(0, max(float(finite.max(initial=0.0)), 1e-9) * 1.3)
    right.plot(x, per_token, color="black", marker="o", label="$/M tokens")
    handles = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], fontsize=8, loc="upper left", ncol=7)
    return _png(fig)
