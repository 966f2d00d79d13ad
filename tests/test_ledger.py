"""Issue 26 item 2: every cost has a name and the parts sum to the whole, per period and in total,
for every shipped scenario, in the JSON, periods.csv and the human output."""

from __future__ import annotations

import csv
import json

import pytest

from planner.cli.main import app
from planner.resources import scenarios_dir

KEYS = ["capital", "fixed", "reserved", "energy", "on_demand", "decommissioning", "early_retirement"]
SHIPPED = sorted(p.stem for p in scenarios_dir().glob("*.yaml"))


def _sums_to(parts: dict, whole: float) -> None:
    assert list(parts) == KEYS
    assert sum(parts.values()) == pytest.approx(whole, rel=1e-9, abs=1e-6)
    assert all(v >= -1e-9 * max(whole, 1.0) for v in parts.values())


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_plan_has_a_ledger_that_adds_up(runner, name):
    r = runner.invoke(app, ["plan", name, "--json", "--no-explain"])
    doc = json.loads(r.stdout)
    if doc["status"] == "infeasible":  # the buildout scenario's first period alone: exit 3, no costs
        assert r.exit_code == 3 and doc["cost_breakdown_usd"] is None
        return
    b = doc["cost_breakdown_usd"]
    _sums_to(b, doc["total_cost_usd"])
    assert b["energy"] == pytest.approx(doc["energy_cost_usd"]) and b["on_demand"] == pytest.approx(
        doc["burst_cost_usd"]
    )
    assert b["fixed"] + b["reserved"] == pytest.approx(doc["fixed_cost_usd"])


def test_a_reservation_is_its_own_line(runner):
    r = runner.invoke(
        app,
        [
            "plan",
            "two-sites",
            "--json",
            "--no-explain",
            "--set",
            "skus.h200-node.procurement.reserved.usd_per_gpu_hour=0.5",
        ],
    )
    doc = json.loads(r.stdout)
    _sums_to(doc["cost_breakdown_usd"], doc["total_cost_usd"])
    gpus = sum(f["gpus"] for f in doc["fleet"] if f["sku"].endswith(":reserved") and f["units"])
    assert gpus > 0  # the rate x GPUs x hours of the reservation
    assert doc["cost_breakdown_usd"]["reserved"] == pytest.approx(0.5 * gpus * doc["span_hours"], rel=1e-9)


@pytest.mark.parametrize("name", ["buildout", "two-sites"])
def test_every_buildout_period_and_the_horizon_add_up(runner, tmp_path, name):
    out = tmp_path / "b"
    r = runner.invoke(app, ["buildout", name, "--json", "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    for p in doc["periods"]:
        _sums_to(p["cost_breakdown_usd"], p["cost_usd"])
        assert p["on_demand_usd"] == p["cost_breakdown_usd"]["on_demand"]
    t = doc["totals"]
    _sums_to(t["cost_breakdown_usd"], t["cost_usd"])
    for key in KEYS:
        assert t["cost_breakdown_usd"][key] == pytest.approx(sum(p["cost_breakdown_usd"][key] for p in doc["periods"]))
    rows = list(csv.DictReader((out / "periods.csv").read_text().splitlines()))
    for row in rows:  # the CSV's parts: capital, fixed (reservations included), energy, on-demand, decommissioning
        parts = ("capital_usd", "fixed_usd", "energy_usd", "on_demand_usd", "decommission_usd", "early_retirement_usd")
        assert sum(float(row[k]) for k in parts) == pytest.approx(float(row["cost_usd"]), rel=1e-9)
    # the workbook: the Summary's ledger lines and each Schedule row's add up to their cost
    import openpyxl

    from planner.economics import LEDGER_LABELS

    wb = openpyxl.load_workbook(out / "recommendation.xlsx")
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r and r[0]}
    lines = [summary[f"  {label}"] for label in LEDGER_LABELS.values()]
    assert sum(lines) == pytest.approx(summary["total cost"], rel=1e-9) == t["cost_usd"]
    sheet = list(wb["Schedule"].iter_rows(values_only=True))
    head = list(sheet[0])
    for row in sheet[1 : 1 + len(doc["periods"])]:
        got = dict(zip(head, row, strict=False))
        parts = [got[f"{label} [$]"] for label in LEDGER_LABELS.values()]
        assert sum(parts) == pytest.approx(got["cost [$]"], rel=1e-9)
    human = runner.invoke(app, ["buildout", name]).stdout
    line = next(x for x in human.splitlines() if x.startswith("horizon: cost"))
    assert all(
        word in line
        for word in ("capital", "fixed", "reserved", "energy", "on-demand", "decommissioning", "early retirement")
    )


def test_a_buildouts_reservations_are_their_own_line_not_capital(runner):
    """two-sites buildout (end_of_horizon: purchase): a reservation (rate x GPUs x the hours of its
    term in each period, in every mode) is `reserved`, not owned `capital`."""
    doc = json.loads(runner.invoke(app, ["buildout", "two-sites", "--json"]).stdout)
    reserved = [s for s in doc["skus"] if s["procurement"] == "reserved"]
    assert reserved
    for p in doc["periods"]:
        expected = sum(p["fleet"][s["sku"]] * 8 * 2.05 * p["hours"] for s in reserved)  # h200-node: 8 GPUs
        assert p["cost_breakdown_usd"]["reserved"] == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert doc["totals"]["cost_breakdown_usd"]["reserved"] > 0
