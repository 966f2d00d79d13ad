"""planner report on a buildout scenario: the buildout report, checked against `planner buildout --json`
as text and rendered in headless Chromium; refused flags (exit 2) and an infeasible buildout (exit 3)."""

from __future__ import annotations

import json
import re
import shutil
from html import unescape

import pytest
import yaml
from browser import charts_rendered
from typer.testing import CliRunner

from planner.buildout.problem import discount_rate
from planner.buildout.run import buildout_problem_from
from planner.cli.main import app
from planner.economics import LEDGER_LABELS
from planner.resources import scenarios_dir
from planner.scenario.load import load_scenario

SCENARIOS = ("buildout", "two-sites")
SECTIONS = ("Recommendation", "Schedule", "Cost per period", "Caps", "Assumptions and sources")


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, tuple[str, dict, str]]:
    """Per shipped buildout scenario: its report (written once), `planner buildout --json`, report's stderr."""
    runner = CliRunner()
    d = tmp_path_factory.mktemp("buildout-report")
    out = {}
    for name in SCENARIOS:
        path = d / f"{name}.html"
        r = runner.invoke(app, ["report", name, "--out", str(path), "-q"])
        assert r.exit_code == 0, r.output
        doc = runner.invoke(app, ["buildout", name, "--json", "-q"])
        assert doc.exit_code == 0, doc.output
        out[name] = (path.read_text(encoding="utf-8"), json.loads(doc.stdout), r.stderr)
    return out


def section(html: str, heading: str) -> str:
    return html.split(f"<h2>{heading}</h2>", 1)[1].split("</section>", 1)[0]


def table_rows(html: str, cls: str) -> list[list[str]]:
    """The body rows of the table of class ``cls`` as cell text."""
    body = html.split(f'<table class="{cls}">', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return [
        [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body)
    ]


def dollars(cell: str) -> float:
    return float(cell.replace("$", "").replace(",", ""))


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_section_and_nothing_fetched(reports, name):
    html, doc, err = reports[name]
    for heading in SECTIONS:
        assert f"<h2>{heading}</h2>" in html
    assert ("<h2>Sites</h2>" in html) == (name == "two-sites")
    assert html.count('<img class="chart"') == 2 and html.count("data:image/png;base64,") == 2
    assert "2 charts; buildout status optimal" in err
    # nothing is fetched: no external src/href, stylesheet or script file
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html and "<script src" not in html
    # no internal names: a cap's LP row (rack_positions@hall-a_0), a raw float
    text = re.sub(r'src="data:[^"]+"', "", html)
    assert not re.search(r"@[\w-]+_\d", text) and not re.search(r"\d\.\d{7,}", text)


@pytest.mark.parametrize("name", SCENARIOS)
def test_headline_and_schedule_match_the_buildout_json(reports, name):
    html, doc, _ = reports[name]
    t = doc["totals"]
    head = section(html, "Recommendation")
    assert f"<b>${t['cost_per_million_tokens']:,.4f}</b> per million tokens over the horizon" in head
    assert f"total cost <b>${t['cost_usd']:,.0f}</b>" in head
    assert f"present value <b>${t['present_value_usd']:,.0f}</b>" in head
    rate = discount_rate(load_scenario(name).scenario)
    assert f"at a discount rate of {rate:.1%} a year" in head
    rows = table_rows(html, "schedule")
    columns = list(doc["periods"][0]["fleet"])
    assert len(rows) == len(doc["periods"])
    for row, period in zip(rows, doc["periods"], strict=True):
        assert row[0] == period["period"]
        for cell, col in zip(row[1 : 1 + len(columns)], columns, strict=True):
            installed, *change = cell.split()
            assert int(installed) == period["fleet"][col]
            assert (f"+{period['purchases'][col]}" in change) == (period["purchases"][col] > 0)
            assert (f"-{period['retirements'][col]}" in change) == (period["retirements"][col] > 0)
    # the full column names head the table, never cut
    head_row = html.split('<table class="schedule">', 1)[1].split("</thead>", 1)[0]
    names = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<th[^>]*>(.*?)</th>", head_row)]
    assert names[1 : 1 + len(columns)] == columns


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_ledger_adds_up_to_each_period_as_printed(reports, name):
    html, doc, _ = reports[name]
    rows = table_rows(html, "ledger")
    keys = list(LEDGER_LABELS)
    heads = html.split('<table class="ledger">', 1)[1].split("</thead>", 1)[0]
    assert [unescape(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", heads)][1 : 2 + len(keys)] == [
        *LEDGER_LABELS.values(),
        "cost",
    ]
    for row, period in zip(rows, [*doc["periods"], None], strict=True):
        parts, total = [dollars(c) for c in row[1 : 1 + len(keys)]], dollars(row[1 + len(keys)])
        # each printed figure is rounded to the dollar: the parts may differ from the total by half a dollar each
        assert abs(sum(parts) - total) <= 0.5 * (len(parts) + 1)
        expected = doc["totals"] if period is None else period
        assert row[0] == ("horizon" if period is None else period["period"])
        assert total == round(expected["cost_usd"])
        assert parts == [round(expected["cost_breakdown_usd"].get(k, 0.0)) for k in keys]
        pv = expected["present_value_usd"] if period is None else period["discounted_cost_usd"]
        assert dollars(row[2 + len(keys)]) == round(pv)
        assert row[-1] == f"${expected['cost_per_million_tokens']:,.4f}"


def test_sites_caps_and_assumptions_of_two_sites(reports):
    html, doc, _ = reports["two-sites"]
    sites = table_rows(html, "sites")
    expected = []
    for period in doc["periods"]:
        for s in period["sites"]:
            expected.append(
                [period["period"], s["site"], f"{s['power_mw']:,.3f} MW / {s['power_cap_mw']:,.3f} MW"]
                + [f"{s['racks']:,} racks / {s['rack_positions']:,} racks"]
            )
    assert [row[:4] for row in sites if row[1] != "cloud"] == expected
    assert sum(row[1] == "cloud" for row in sites) == len(doc["periods"])
    # caps: each limit and use; at its limit where planner buildout says so, with its words
    caps = table_rows(html, "caps")
    for period in doc["periods"]:
        for line in period["binding"]:
            label, detail = line.split(": ", 1)
            assert [period["period"], label] + ["yes: " + detail] in [[r[0], r[1], r[6]] for r in caps]
    racks = [r for r in caps if r[1] == "rack_positions@hall-a"]
    assert len(racks) == len(doc["periods"]) and {r[2] for r in racks} == {"sites.hall-a.rack_positions"}
    assert any(r[1] == "quota@h200-node" for r in caps)
    # assumptions as they ran: each site's PUE and electricity price, the run's discount rate
    sf = load_scenario("two-sites")
    stated = dict((r[0], r[1]) for r in table_rows(section(html, "Assumptions and sources"), "kv"))
    sites = buildout_problem_from(sf).sites
    assert {(s.pue, s.electricity_usd_per_kwh) for s in sites} == {(1.25, 0.07), (1.45, 0.11)}
    for site in sites:
        assert stated[f"PUE ({site.id})"] == f"{site.pue:g}"
        assert stated[f"electricity price ({site.id})"] == f"${site.electricity_usd_per_kwh:.4f}/kWh"
    assert stated["discount rate"] == f"{discount_rate(sf.scenario):.1%} per year"
    assert "PUE" not in stated and "electricity price" not in stated  # the scenario-wide ones priced nothing


@pytest.mark.integration
def test_buildout_report_renders_in_headless_chromium(reports, require, tmp_path):
    chromium = require("chromium", shutil.which("chromium") or shutil.which("chromium-browser"))
    page = tmp_path / "two-sites.html"
    page.write_text(reports["two-sites"][0], encoding="utf-8")
    assert charts_rendered(chromium, page) == (2, 2)


@pytest.mark.parametrize(
    "args, expect",
    [
        (["--validation", "v.json"], "drop --validation v.json"),
        (["--sweep", "s.csv"], "drop the sweep results s.csv"),
        (["--allow-mismatch"], "drop --allow-mismatch"),
    ],
)
def test_flags_a_buildout_report_cannot_use_exit_2(runner, tmp_path, monkeypatch, args, expect):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "v.json").write_text("{}", encoding="utf-8")
    (tmp_path / "s.csv").write_text("point,x,status,cost_per_million_tokens,total_cost_usd,span_hours\n")
    r = runner.invoke(app, ["report", "two-sites", *args])
    err = re.sub(r"\s+", " ", r.stderr)
    assert r.exit_code == 2 and "has a buildout: section" in err and expect in err, r.output
    assert not (tmp_path / "report.html").exists()


def test_infeasible_buildout_report_shows_the_diagnosis_and_exits_3(runner, tmp_path):
    data = yaml.safe_load((scenarios_dir() / "buildout.yaml").read_text(encoding="utf-8"))
    data["buildout"]["power_cap_mw"] = 2
    shutil.copy(scenarios_dir() / data["demand"]["load_curve"], tmp_path / data["demand"]["load_curve"])
    scn = tmp_path / "tight.yaml"
    scn.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", str(scn), "--out", str(out), "-q"])
    assert r.exit_code == 3 and "infeasible" in r.stderr, r.output
    html = out.read_text(encoding="utf-8")
    assert "No schedule fits this scenario" in html and "<h2>Assumptions and sources</h2>" in html
    assert "<h2>Schedule</h2>" not in html and '<img class="chart"' not in html
    diagnosis = section(html, "Recommendation")
    assert "2026Q3: power_cap needs" in unescape(diagnosis) and "What each cap would have to be" in diagnosis
    assert re.search(
        r"<td>2026Q3</td><td>power_cap</td><td>every period together</td><td class=num>2\.000 MW", diagnosis
    )


def test_single_period_flag_reports_the_plan_and_is_refused_without_a_buildout(runner, tmp_path):
    """two-sites plans both ways: --single-period gives its single-period plan's report; on a
    scenario without a buildout: section the flag would do nothing and is refused."""
    out = tmp_path / "plan.html"
    r = runner.invoke(app, ["report", "two-sites", "--single-period", "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "<h2>Schedule</h2>" not in html and "on demand at the busiest hour" in html
    r = runner.invoke(app, ["report", "default", "--single-period", "--out", str(tmp_path / "d.html")])
    assert r.exit_code == 2 and "has no buildout: section" in " ".join(r.stderr.split())
    assert not (tmp_path / "d.html").exists()
