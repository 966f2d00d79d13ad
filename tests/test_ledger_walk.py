"""Issue 26 (the ledger), walked item by item on the shipped scenarios, as a lead would read them.

Each item has its own detailed tests (named in each test's docstring); this file walks the issue's
list once over `two-sites` (plan and buildout) and the `buildout` scenario, through the CLI.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from planner.cli.main import app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The documents of the walk: two-sites planned and built out (JSON, --out), the buildout
    scenario built out, and the buildout report of two-sites."""
    from typer.testing import CliRunner

    runner = CliRunner()
    tmp = tmp_path_factory.mktemp("walk")

    def run(*args):
        r = runner.invoke(app, list(args))
        assert r.exit_code == 0, r.output
        return r

    out = {
        "plan": json.loads(run("plan", "two-sites", "--json", "--out", str(tmp / "plan")).stdout),
        "plan_human": run("plan", "two-sites").stdout,
        "buildout": json.loads(run("buildout", "two-sites", "--json", "--out", str(tmp / "bo")).stdout),
        "shipped": json.loads(run("buildout", "buildout", "--json").stdout),
        "tmp": tmp,
    }
    run("report", "two-sites", "--out", str(tmp / "bo.html"), "-q")
    out["report"] = (tmp / "bo.html").read_text(encoding="utf-8")
    return out


def test_1_every_limit_is_a_cap(runs):
    """The on-demand quota is a row of the cap table, binding, with its marginal value (test_sites)."""
    quota = next(c for c in runs["plan"]["caps"] if c["name"] == "quota@h200-node")
    assert quota["limit"] == 1600 and quota["used"] <= quota["limit"] and quota["binding"]
    assert quota["saving_usd"] > 0 and quota["lp_relaxation_dual"] > 0
    assert "quota@h200-node" in runs["plan"]["binding"]
    assert "quota@h200-node +16 GPUs: saves" in runs["plan_human"]
    assert any("quota@h200-node" in p["at_limit_caps"] for p in runs["buildout"]["periods"])


def test_2_a_complete_ledger(runs):
    """Every cost has a name and the parts sum to the whole, per period and in total (test_ledger)."""
    for doc in (runs["plan"],):
        assert sum(doc["cost_breakdown_usd"].values()) == pytest.approx(doc["total_cost_usd"], rel=1e-9)
    for doc in (runs["buildout"], runs["shipped"]):
        for p in doc["periods"]:
            assert sum(p["cost_breakdown_usd"].values()) == pytest.approx(p["cost_usd"], rel=1e-9)
        assert sum(doc["totals"]["cost_breakdown_usd"].values()) == pytest.approx(doc["totals"]["cost_usd"], rel=1e-9)
    assert runs["buildout"]["totals"]["cost_breakdown_usd"]["on_demand"] > 0  # the burst has its line


def test_3_costs_where_they_are_paid(runs):
    """Reservations billed over their term and kept for it; an early retirement pays what is left
    (test_costs_where_paid: brute force)."""
    doc = runs["buildout"]
    reserved = [s["sku"] for s in doc["skus"] if s["procurement"] == "reserved"]
    for p in doc["periods"]:
        held = sum(p["fleet"][k] for k in reserved)
        assert p["cost_breakdown_usd"]["reserved"] == pytest.approx(held * 8 * 2.05 * p["hours"], rel=1e-9)
        assert all(p["retirements"][k] == p["retirements_end_of_life"][k] for k in reserved)
    assert not [e for e in doc["story"]["early_retirements"] if e["sku"] in reserved]
    # the shipped buildout: what is bought in the horizon and retired early pays its remaining capital
    shipped = runs["shipped"]
    for e in shipped["story"]["early_retirements"]:
        bought = sum(p["purchases"][e["sku"]] for p in shipped["periods"])
        assert e["charge_usd"] > 0 or bought == 0, e
    b200 = [p["fleet"]["b200-sxm"] for p in shipped["periods"]]
    assert b200[3] == 2 and b200[3:] == [2] * len(b200[3:])  # bought for 2027Q2, kept: not a quarter's rental


def test_4_assumptions_are_what_ran(runs):
    """Per-site PUE and electricity price in the workbook and the report, nothing scenario-wide
    that priced nothing (test_workbook: every shipped scenario)."""
    import openpyxl

    wb = openpyxl.load_workbook(runs["tmp"] / "bo" / "recommendation.xlsx")
    stated = {r[0]: r[1] for r in wb["Assumptions"].iter_rows(values_only=True) if r and r[0]}
    assert stated["PUE (hall-a)"] == 1.25 and stated["PUE (colo-b)"] == 1.45
    assert stated["electricity price (hall-a)"] == 0.07 and stated["electricity price (colo-b)"] == 0.11
    assert "PUE" not in stated and "electricity price" not in stated and stated["discount rate"] == 0.08


def test_5_readable(runs):
    """No internal name, whole counts, racks that add up (test_loose_ends: widths, pivots)."""
    rows = list(csv.DictReader((runs["tmp"] / "plan" / "fleet.csv").read_text().splitlines()))
    for site in ("hall-a", "colo-b"):
        racks = sum(int(r["racks"]) for r in rows if r["site"] == site)
        assert racks == next(s for s in runs["plan"]["sites"] if s["site"] == site)["racks"]
    text = re.sub(r"<[^>]+>|src=\"data:[^\"]*\"", " ", runs["report"])
    assert not re.search(r"\d\.\d{7,}", text) and not re.search(r"@[\w-]+_\d+\b", text)
    assert "rack_positions@hall-a" in text and "(456 term ended)" in text


def test_6_a_buildout_report(runs):
    """planner report on a buildout writes its schedule, sites, ledger and caps (test_report_buildout:
    every section, headless Chromium)."""
    html = runs["report"]
    for section in ("Schedule", "Cost per period", "Caps"):
        assert f"<h2>{section}" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_7_imports_as_the_tools_write_them(runner, tmp_path):
    """Each tool's example file imports with the labels it carries (test_throughput_import: every
    field); a flag that contradicts the file, and a near-miss SKU id, are refused (exit 2)."""
    data = ROOT / "tests" / "data"
    base = ["--sku", "h200-sxm", "--gpus", "4", "--precision", "fp8"]
    for name, extra in (
        ("vllm_bench_serve.json", []),  # states its model, framework and shape
        ("profile_export_genai_perf.csv", ["--model", "qwen3-235b-a22b"]),  # states the shape only
        ("inferencex_rows.json", []),
    ):
        out = tmp_path / f"{name}.yaml"
        r = runner.invoke(app, ["throughput", "import", str(data / name), *base, *extra, "--out", str(out), "--json"])
        assert r.exit_code == 0, r.output
        doc = json.loads(r.stdout)
        points = doc["imported"]
        assert points and all((p["isl"], p["osl"], p["sku"]) == (4000, 1000, "h200-sxm") for p in points), doc
        assert all(p["tokens_per_s_per_gpu"] > 0 and p["framework"] for p in points), doc
    r = runner.invoke(app, ["throughput", "import", str(data / "vllm_bench_serve.json"), *base, "--model", "qwen3",
                            "--out", str(tmp_path / "m.yaml")])  # fmt: skip
    assert r.exit_code == 2 and "contradicts model_id" in r.stderr and not (tmp_path / "m.yaml").exists()
    r = runner.invoke(app, ["throughput", "import", str(data / "vllm_bench_serve.json"), "--sku", "h100-sxn",
                            "--gpus", "4", "--precision", "fp8", "--out", str(tmp_path / "x.yaml")])  # fmt: skip
    assert r.exit_code == 2 and "did you mean 'h100-sxm'?" in r.stderr and not (tmp_path / "x.yaml").exists()


def test_8_loose_ends(runner, tmp_path):
    """--version; an infeasible plan writes only its diagnosis; a buildout scenario planned as one
    period says to use planner buildout (test_loose_ends)."""
    assert runner.invoke(app, ["--version"]).exit_code == 0
    out = tmp_path / "d"
    r = runner.invoke(app, ["plan", "two-sites", "--power-cap-mw", "0.5", "--out", str(out), "--no-explain"])
    assert r.exit_code == 3 and sorted(p.name for p in out.iterdir() if p.name != ".planner-files") == ["plan.json"]
    notes = json.loads(runner.invoke(app, ["plan", "buildout", "--json", "--no-explain"]).stdout)["notes"]
    assert any("planner buildout" in n for n in notes)
