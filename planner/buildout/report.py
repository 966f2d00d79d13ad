"""Files of a buildout plan: schedule, period (and, with sites, site) CSVs, the plan as JSON, a PNG of the schedule."""

from __future__ import annotations

import io
from pathlib import Path

from planner.buildout.run import BuildoutPlan, PeriodResult
from planner.outputs import Cell, csv_text, json_text

SCHEDULE_COLUMNS = ["period", "sku", "installed", "gpus", "bought", "retired", "retired_end_of_life", "token_share"]
PERIOD_COLUMNS = [
    "period",
    "start",
    "power_mw",
    "power_cap_mw",
    "capex_usd",
    "capex_budget_usd",
    "capital_usd",
    "fixed_usd",
    "energy_usd",
    "cost_usd",
    "discounted_cost_usd",
    "tokens",
    "cost_per_million_tokens",
    "on_demand_usd",  # with capital, fixed and energy: the parts of cost_usd
    "decommission_usd",
    "early_retirement_usd",  # remaining capital of units retired before the end of their life, less resale
]


def schedule_cell(r: PeriodResult, column: str, reserved: bool = False) -> str:
    """A column's units in one period as the schedule shows them: installed, then ``+bought`` and
    ``-retired`` (with how many of those reached their end of life: ``(n EOL)``; a reservation's
    ``reserved`` units: ``(n term ended)``) when non-zero."""
    text = f"{r.fleet[column]}"
    if r.purchases[column]:
        text += f" +{r.purchases[column]}"
    if r.retirements[column]:
        eol = r.retirements_end_of_life[column]
        text += f" -{r.retirements[column]}" + (f" ({eol} {'term ended' if reserved else 'EOL'})" if eol else "")
    return text


def reserved_columns(plan: BuildoutPlan) -> set[str]:
    """The columns of reserved capacity (their units leave when the term ends)."""
    return {s["sku"] for s in plan.skus if s.get("procurement") == "reserved"}


def on_demand_use(plan: BuildoutPlan, r: PeriodResult) -> tuple[int, float] | None:
    """On-demand (cloud) capacity in one period: its GPUs (the busiest slice's) and its token share;
    None when the buildout has no cloud column. Cloud GPUs draw none of your power, racks or cooling."""
    cloud = [s["sku"] for s in plan.skus if s.get("site") == "cloud"]
    if not cloud:
        return None
    return sum(r.gpus.get(c, 0) for c in cloud), sum(r.token_share_by_sku.get(c, 0.0) for c in cloud)


def schedule_rows(plan: BuildoutPlan) -> list[dict[str, Cell]]:
    """Long form: one row per period and SKU."""
    return [
        {
            "period": r.period,
            "sku": sku,
            "installed": r.fleet[sku],
            "gpus": r.gpus[sku],
            "bought": r.purchases[sku],
            "retired": r.retirements[sku],
            "retired_end_of_life": r.retirements_end_of_life[sku],
            "token_share": r.token_share_by_sku[sku],
        }
        for r in plan.periods
        for sku in r.fleet
    ]


SITE_COLUMNS = [
    "period",
    "site",
    "power_mw",
    "power_cap_mw",
    "racks",
    "rack_positions",
    "liquid_mw",
    "liquid_cooling_mw",
    "gpus",
    "token_share",
    "at_limit",
]


def site_rows(plan: BuildoutPlan) -> list[dict[str, Cell]]:
    """Long form: one row per period and site (a scenario with ``sites:``); caps at their limit joined by ';'."""
    return [
        {"period": r.period, **site, "at_limit": ";".join(site["at_limit"])} for r in plan.periods for site in r.sites
    ]


def period_rows(plan: BuildoutPlan) -> list[dict[str, Cell]]:
    return [{k: getattr(r, k) for k in PERIOD_COLUMNS} for r in plan.periods]


def schedule_png(plan: BuildoutPlan) -> bytes:
    """Installed MW by SKU per period against the power cap, and cost per million tokens."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [r.period for r in plan.periods]
    kw = {s["sku"]: s["facility_kw_per_gpu"] for s in plan.skus}
    x = np.arange(len(labels))
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(9, 7), sharex=True, height_ratios=[2, 1])
    bottom = np.zeros(len(labels))
    for sku in kw:
        mw = np.array([r.gpus[sku] * kw[sku] / 1000.0 for r in plan.periods])
        if mw.any():
            ax.bar(x, mw, bottom=bottom, label=sku)
            bottom += mw
    caps = [r.power_cap_mw if r.power_cap_mw is not None else np.nan for r in plan.periods]
    ax.step(x, caps, where="mid", color="black", linestyle="--", label="power cap")
    ax.set_ylabel("installed facility power [MW]")
    ax.set_title(f"{plan.scenario}: buildout schedule ({plan.mode})")
    ax.legend(loc="upper left", fontsize=8)
    ax2.plot(x, [r.cost_per_million_tokens for r in plan.periods], marker="o")
    ax2.set_ylabel("$ per million tokens")
    ax2.set_xticks(x, labels)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def buildout_files(plan: BuildoutPlan, out_dir: Path) -> dict[Path, str | bytes]:
    """Everything ``--out`` writes, prepared in memory first."""
    files: dict[Path, str | bytes] = {
        out_dir / "buildout.json": json_text(plan.to_dict()),
        out_dir / "schedule.csv": csv_text(schedule_rows(plan), SCHEDULE_COLUMNS),
        out_dir / "periods.csv": csv_text(period_rows(plan), PERIOD_COLUMNS),
        out_dir / "schedule.png": schedule_png(plan),
    }
    if any(r.sites for r in plan.periods):
        files[out_dir / "sites.csv"] = csv_text(site_rows(plan), SITE_COLUMNS)
    return files
