"""recommendation.xlsx and recommendation.csv: numbers that are numbers, that add up to the plan."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from planner.buildout.run import buildout_problem_from, plan_buildout
from planner.cli.main import app
from planner.optimize.problem import solver_options
from planner.pipeline import run_plan, scenario_problem
from planner.report.workbook import buildout_csv, buildout_workbook, plan_csv, plan_workbook
from planner.scenario.load import load_scenario


def sheet_rows(wb, name):
    rows = list(wb[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def summary(wb):
    return {r["item"]: r["value"] for r in section(wb, "Summary")}


def section(wb, sheet, title=None):
    """The rows of one part of a sheet: the first (title None) or the one under a bold ``title``."""
    rows = list(wb[sheet].iter_rows(values_only=True))
    start = 0 if title is None else next(i for i, r in enumerate(rows) if r[0] == title and not any(r[1:])) + 1
    head = [h for h in rows[start] if h is not None]
    out = []
    for r in rows[start + 1 :]:
        if not any(v is not None for v in r):
            break
        out.append(dict(zip(head, r[: len(head)], strict=True)))
    return out


@pytest.fixture(scope="module")
def default_plan():
    sf = load_scenario("default")
    problem = scenario_problem(sf)
    from planner.optimize.run import plan_fleet

    return sf, problem, plan_fleet(problem, solver_options(sf.scenario))


def test_the_plan_workbook_adds_up_to_the_plan(default_plan):
    sf, problem, plan = default_plan
    data = plan_workbook(sf, problem, plan)
    assert data == plan_workbook(sf, problem, plan)  # same plan, same bytes
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Summary", "Fleet", "Caps", "Assumptions"]
    s = summary(wb)
    assert s["cost per million tokens"] == pytest.approx(plan.cost_per_million_tokens, rel=1e-12)
    assert s["total cost over the span"] == pytest.approx(plan.total_cost_usd, rel=1e-12)
    assert s["facility power used"] == pytest.approx(plan.power_mw) and s["power cap"] == 10
    assert s["binding caps"] == "power_cap" and s["status"] == "optimal"
    fleet = sheet_rows(wb, "Fleet")
    body, total = fleet[:-1], fleet[-1]
    assert total["SKU"] == "total"
    chosen = [f for f in plan.fleet if f.units or f.existing_units]
    assert [r["SKU"] for r in body] == [f.sku for f in chosen]
    for r, f in zip(body, chosen, strict=True):
        assert r["GPUs"] == f.units * f.gpus_per_unit and r["units"] == f.units
        assert r["power [MW]"] == pytest.approx(f.power_mw)
        assert isinstance(r["capex [$]"], int | float) and isinstance(r["token share [%]"], float)
    assert total["capex [$]"] == pytest.approx(plan.capex_spend_usd, rel=1e-12)
    assert total["power [MW]"] == pytest.approx(plan.power_mw, rel=1e-12)
    assert total["run-rate [$/h]"] == pytest.approx(plan.run_rate_usd_per_hour, rel=1e-12)
    assert total["token share [%]"] == pytest.approx(plan.tokens_served / plan.tokens_served)
    # per-SKU cost per token weighted by token share is the plan's cost per token
    weighted = sum(r["cost per token [$/M tokens]"] * r["token share [%]"] for r in body)
    assert weighted == pytest.approx(plan.cost_per_million_tokens, rel=1e-9)
    # formats: currency, MW, percentages
    ws = wb["Fleet"]
    formats = {ws.cell(1, j).value: ws.cell(2, j).number_format for j in range(1, ws.max_column + 1)}
    assert "$" in formats["capex [$]"] and formats["token share [%]"].endswith("%")
    assert formats["power [MW]"] == "#,##0.000"
    caps = sheet_rows(wb, "Caps")
    power = next(c for c in caps if c["cap"] == "power_cap")
    assert power["binding"] == "yes" and power["used"] == pytest.approx(plan.power_mw)
    assert power["saving over the span [$]"] == pytest.approx(plan.caps[0].saving_usd)
    a = {r["item"]: r["value"] for r in section(wb, "Assumptions")}
    assert a["pricing tier"] == "hyperscaler" and a["power basis"] == "all_in"
    assert "PUE" not in a and "electricity price" not in a  # all-in power and hourly prices: neither priced anything
    assert len(a["catalog files SHA-256"]) == 64
    thr = section(wb, "Assumptions", "Throughput")
    kinds = {(r["SKU"], r["workload"]): r["basis"] for r in thr}
    assert kinds[("b200-sxm", "chat")] == "measured" and kinds[("h200-sxm", "chat")] == "interpolated"
    assert len(section(wb, "Assumptions", "Sources")) >= 10


def test_the_csv_is_the_fleet_sheet(default_plan):
    sf, problem, plan = default_plan
    frame = pd.read_csv(io.StringIO(plan_csv(sf, plan)))
    wb = openpyxl.load_workbook(io.BytesIO(plan_workbook(sf, problem, plan)))
    sheet = sheet_rows(wb, "Fleet")[:-1]
    assert list(frame["SKU"]) == [r["SKU"] for r in sheet]
    assert "token share [fraction]" in frame.columns
    assert frame["token share [fraction]"].tolist() == pytest.approx([r["token share [%]"] for r in sheet])
    assert frame["capex [$]"].sum() == pytest.approx(plan.capex_spend_usd)


def test_estimated_figures_carry_their_band():
    sf = load_scenario("qwen3-estimate")
    plan = run_plan(sf, explain=False)
    problem = scenario_problem(sf)
    wb = openpyxl.load_workbook(io.BytesIO(plan_workbook(sf, problem, plan)))
    rows = {r["SKU"]: r for r in section(wb, "Assumptions", "Throughput")}
    est = rows["b200-sxm"]
    assert est["basis"] == "estimated"
    assert (
        est["band low [tokens/s per GPU]"] < est["throughput [tokens/s per GPU]"] < est["band high [tokens/s per GPU]"]
    )
    assert rows["h200-sxm"]["basis"] == "interpolated" and rows["h200-sxm"]["band low [tokens/s per GPU]"] is None


def test_placed_plans_have_site_and_procurement_columns():
    sf = load_scenario("two-sites")
    plan = run_plan(sf, explain=False)
    frame = pd.read_csv(io.StringIO(plan_csv(sf, plan)))
    assert {"site", "procurement", "rack positions"} <= set(frame.columns)
    assert set(frame["procurement"]) <= {"owned", "reserved", "on_demand", "existing"}
    assert frame["capex [$]"].sum() == pytest.approx(plan.capex_spend_usd, rel=1e-9)


def test_the_buildout_workbook_has_its_schedule():
    sf = load_scenario("buildout")
    problem = buildout_problem_from(sf)
    plan = plan_buildout(problem, solver_options(sf.scenario), None)
    skus = [s.sku for s in problem.skus]
    data = buildout_workbook(sf, skus, plan)
    assert data == buildout_workbook(sf, skus, plan)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Summary", "Fleet", "Schedule", "Caps", "Assumptions"]
    schedule = sheet_rows(wb, "Schedule")
    assert [r["period"] for r in schedule] == [p.period for p in plan.periods]
    assert sum(r["capex [$]"] for r in schedule) == pytest.approx(plan.totals["capex_usd"])
    fleet = pd.read_csv(io.StringIO(buildout_csv(sf, plan)))
    for p in plan.periods:
        rows = fleet[fleet["period"] == p.period]
        assert rows["GPUs"].sum() == sum(p.gpus.values())
        assert rows["capex [$]"].sum() == pytest.approx(p.capex_usd)
    s = summary(wb)
    assert s["present value"] == pytest.approx(plan.totals["present_value_usd"])


def test_plan_and_buildout_out_write_the_recommendation(runner, tmp_path):
    out = tmp_path / "plan"
    assert runner.invoke(app, ["plan", "default", "--out", str(out), "--no-explain"]).exit_code == 0
    assert openpyxl.load_workbook(out / "recommendation.xlsx")["Summary"]["A1"].value == "item"
    assert (out / "recommendation.csv").read_text().startswith("SKU,family,unit,units,")
    b = tmp_path / "b"
    assert runner.invoke(app, ["buildout", "--out", str(b)]).exit_code == 0
    assert {"recommendation.xlsx", "recommendation.csv", "buildout.json"} <= {p.name for p in b.iterdir()}


def test_a_placed_buildout_fleet_sheet_adds_up_per_period():
    sf = load_scenario("two-sites")
    problem = buildout_problem_from(sf)
    plan = plan_buildout(problem, solver_options(sf.scenario), None)
    fleet = pd.read_csv(io.StringIO(buildout_csv(sf, plan)))
    assert {"site", "procurement"} <= set(fleet.columns) and fleet["capex [$]"].notna().all()
    for p in plan.periods:
        rows = fleet[fleet["period"] == p.period]
        assert rows["capex [$]"].sum() == pytest.approx(p.capex_usd, rel=1e-9, abs=1e-6)
        assert rows["GPUs"].sum() == sum(p.gpus.values())


def test_stated_assumptions_are_the_ones_that_ran(runner, tmp_path):
    """Issue 26 item 4, every shipped scenario: every stated assumption is the resolved input of the
    run (with sites, each site's own PUE and electricity price; a buildout's discount rate as the run
    resolved it), and nothing is stated that no figure used: an economics field is stated exactly when
    setting it would not be refused as having no effect (planner.scenario.effects)."""
    import copy

    import openpyxl

    from planner.buildout.problem import discount_rate
    from planner.cli.main import app
    from planner.optimize.problem import scenario_problem
    from planner.resources import scenarios_dir
    from planner.scenario.effects import no_effect
    from planner.scenario.load import load_scenario
    from planner.scenario.schema import Scenario

    def stated(folder):
        wb = openpyxl.load_workbook(folder / "recommendation.xlsx")
        rows = list(wb["Assumptions"].iter_rows(values_only=True))
        return {r[0]: r[1] for r in rows[1 : rows.index((None,) * len(rows[0]))] if r and r[0]}

    def inert_when_set(scn, field) -> bool:
        raw = copy.deepcopy(scn.model_dump(exclude_unset=True))
        raw.setdefault("economics", {})[field] = getattr(scn.economics, field)
        return any(i.path == f"economics.{field}" for i in no_effect(Scenario.model_validate(raw)))

    labels = {"pue": "PUE", "electricity_usd_per_kwh": "electricity price", "pricing_tier": "pricing tier",
              "power_basis": "power basis"}  # fmt: skip
    for path in sorted(scenarios_dir().glob("*.yaml")):
        name = path.stem
        sf = load_scenario(name)
        scn, problem = sf.scenario, scenario_problem(sf)
        command = ["buildout", name] if scn.buildout is not None else ["plan", name, "--no-explain"]
        r = runner.invoke(app, [*command, "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        got = stated(tmp_path / name)
        expected = {"max utilisation": scn.constraints.max_utilization}
        for field, label in labels.items():
            per_site = problem.sites and field in ("pue", "electricity_usd_per_kwh")  # stated per site below
            if not per_site and not inert_when_set(scn, field):
                expected[label] = getattr(scn.economics, field)
        for s in problem.sites:
            expected[f"PUE ({s.id})"] = s.pue
            expected[f"electricity price ({s.id})"] = s.electricity_usd_per_kwh
        if scn.buildout is not None:
            expected["discount rate"] = discount_rate(scn)
        figures = {k: v for k, v in got.items() if k not in ("catalog", "catalog files SHA-256", "scenario SHA-256")}
        assert figures == expected, name
    assert stated(tmp_path / "two-sites")["discount rate"] == 0.08
