"""planner report: one self-contained HTML file, checked as text and rendered in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from browser import charts_rendered

from planner.catalog.load import shipped_catalog
from planner.cli.main import app
from planner.report.html import render_json
from planner.resources import scenarios_dir
from planner.sweep.grid import build_sweep
from planner.sweep.run import run_sweep, table_csv


def validation_doc() -> dict:
    """A trimmed `planner validate --json` document of the default scenario (its real keys;
    12 hourly slices instead of 168, one request-level window)."""
    hours = [float(h) for h in range(12)]
    return {
        "scenario": "deepseek-r1-default",
        "seed": 0,
        "router": "plan",
        "failures": True,
        "targets": {"max_queue_delay_s": 1.0, "patience_s": 60.0},
        "slo_attainment": 0.9999114758356629,
        "served_fraction": 1.0,
        "peak_slo_attainment": 0.9991022359178424,
        "queue_delay_s": {"p50": 0.0, "p90": 0.0, "p99": 0.25, "max": 4.517217611375344},
        "utilization": {
            "h200-sxm": 0.02678884139285042,
            "b200-sxm": 0.3127457925927877,
            "gb200-nvl72": 0.7425962554584516,
            "gb300-nvl72": 0.41607778378416893,
        },
        "realized_cost_per_million_tokens": 0.1312,
        "planned_cost_per_million_tokens": 0.12854387354802935,
        "realized_cost_usd": 1966906.368,
        "tokens_served": 15301439996400.0,
        "tokens_demanded": 15301439996400.0,
        "availability": {
            "gb200-nvl72": {"expected": 0.9993604093380236, "simulated": 0.9974744364730123},
            "gb300-nvl72": {"expected": 0.9993604093380236, "simulated": 0.99969028570161},
        },
        "unavailable_gpus": {
            "gb200-nvl72": [0.0, 0.0, 4.0, 4.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "gb300-nvl72": [4.0, 4.0, 4.0, 0.0, 0.0, 0.0, 0.0, 2.0, 4.0, 0.0, 0.0, 0.0],
        },
        "slice_hours": hours,
        "slice_slo_attainment": [1.0] * 12,
        "windows": [
            {
                "hour": 122.0,
                "offset_s": 1755.0,
                "duration_s": 60.0,
                "requests": 13452,
                "slo_attainment": 0.9944989592625632,
                "served_fraction": 1.0,
                "analytic_slo_attainment": 0.9922811421918728,
                "queue_delay_s": {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 4.517217611375344},
            }
        ],
        "reliability": {"gb200-nvl72": {"failures": 2}, "gb300-nvl72": {"failures": 6}},
        "notes": [],
    }


@pytest.fixture(scope="module")
def full_report(tmp_path_factory) -> Path:
    """The default scenario's report with a power-cap sweep and validation results."""
    from typer.testing import CliRunner

    d = tmp_path_factory.mktemp("report")
    spec = build_sweep(None, ["constraints.power_cap_mw=9.5,10,11"])
    (d / "sweep.csv").write_text(table_csv(run_sweep(spec)), encoding="utf-8")
    (d / "validation.json").write_text(json.dumps(validation_doc()), encoding="utf-8")
    out = d / "report.html"
    r = CliRunner().invoke(
        app, ["report", str(d / "sweep.csv"), "--validation", str(d / "validation.json"), "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert f"wrote {out}" in r.stderr and "3 charts" in r.stderr
    return out


def test_report_has_every_section_and_no_network(full_report):
    html = full_report.read_text(encoding="utf-8")
    for heading in (
        "Recommendation",
        "Fleet",
        "Cost per token",
        "Caps and marginal values",
        "Load against capacity",
        "Sweep frontiers",
        "Validation",
        "Assumptions and sources",
    ):
        assert f"<h2>{heading}</h2>" in html
    assert "per million tokens" in html and "power_cap" in html and "per MW-year" in html
    assert "gb300-nvl72" in html
    assert html.count('<img class="chart"') == 3 and html.count("data:image/png;base64,") == 3
    # assumptions cite the catalog's sources
    key, citation = next(iter(shipped_catalog().sources.items()))
    assert f"<code>{key}</code>" in html
    # nothing is fetched: no external src/href, stylesheet or script file
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html and "<script src" not in html


@pytest.mark.integration
def test_report_renders_in_headless_chromium(full_report, require):
    chromium = require("chromium", shutil.which("chromium") or shutil.which("chromium-browser"))
    assert charts_rendered(chromium, full_report) == (3, 3)


def test_validation_section_is_rendered_not_dumped(full_report):
    html = full_report.read_text(encoding="utf-8")
    sec = html[html.index("<h2>Validation</h2>") : html.index('<div id="assumptions">')]
    text = re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", sec))
    text = re.sub(r"\s+", " ", text)
    assert "scenario deepseek-r1-default , seed 0, with failures" in text
    assert "SLO attainment 99.99% share of requests queued at most 1 s" in text
    assert "SLO attainment in the peak windows 99.91%" in text
    assert "served fraction 100.000%" in text and "give up after 60 s" in text
    assert "realised $/M tokens $0.1312 (+2.07% against plan)" in text and "planned $/M tokens $0.1285" in text
    assert "Queueing delay p50 p90 p99 max 0 s 0 s 0.25 s 4.517 s" in text
    # utilisation per SKU, availability where the document has it, failures
    assert "gb200-nvl72 74.3% 99.936% 99.747% 2" in text and "h200-sxm 2.7% n/a n/a -" in text
    assert "122 13,452 99.45% 99.23% 100.000% 0 s" in text
    assert sec.count('<img class="chart" data-chart="gpus_down"') == 1
    assert "served_fraction" not in sec and "slo_attainment" not in sec  # no raw key dump


def test_validation_without_failures_has_no_gpus_down_chart(runner, tmp_path):
    doc = {k: v for k, v in validation_doc().items() if k not in ("availability", "unavailable_gpus", "reliability")}
    (tmp_path / "v.json").write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", "--validation", str(tmp_path / "v.json"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "<h2>Validation</h2>" in html and "99.99%" in html
    assert 'data-chart="gpus_down"' not in html and "availability simulated" not in html
    assert html.count('<img class="chart"') == 1 and "1 charts" in r.stderr


@pytest.mark.parametrize(
    "doc, expect",
    [
        ({"params": [], "rows": []}, "it looks like `planner sweep --json` results"),
        ({"fleet": [], "cost_per_million_tokens": 0.1}, "it looks like a `planner plan --json` document"),
        ({"served_fraction": 0.99, "per_sku": []}, "it looks like a JSON object with keys per_sku, served_fraction"),
        ([1, 2], "it looks like a JSON list"),
    ],
)
def test_report_validation_must_be_a_validation_document(runner, tmp_path, doc, expect):
    v = tmp_path / "v.json"
    v.write_text(json.dumps(doc), encoding="utf-8")
    r = runner.invoke(app, ["report", "--validation", str(v), "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 2
    err = re.sub(r"\s+", " ", r.stderr)
    assert "not a `planner validate --json` document" in err
    assert "missing key(s) slo_attainment, realized_cost_per_million_tokens" in err and expect in err
    assert not (tmp_path / "r.html").exists()


def test_report_of_the_default_scenario(runner, tmp_path):
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", "--out", str(out)])
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "deepseek-r1-default" in html and "Sweep frontiers" not in html and "<h2>Validation</h2>" not in html
    assert html.count('<img class="chart"') == 1


def test_infeasible_scenario_report_shows_the_diagnosis_and_exits_3(runner, tmp_path):
    data = yaml.safe_load((scenarios_dir() / "default.yaml").read_text(encoding="utf-8"))
    data["constraints"]["power_cap_mw"] = 5
    shutil.copy(scenarios_dir() / "default-demand.csv", tmp_path / "default-demand.csv")
    scn = tmp_path / "tight.yaml"
    scn.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", str(scn), "--out", str(out)])
    assert r.exit_code == 3 and "infeasible" in r.stderr
    html = out.read_text(encoding="utf-8")
    assert "No fleet fits this scenario" in html and "needs at least" in html


@pytest.mark.parametrize(
    "args, expect",
    [
        (["notes.txt"], "give a scenario (.yaml, or a shipped scenario's name) or sweep results"),
        (["--out", "report.pdf"], "use a .html file name"),
        (["missing.csv"], "sweep results file not found"),
        (["--validation", "missing.json"], "validation file not found"),
    ],
)
def test_report_bad_input_exit_2(runner, tmp_path, monkeypatch, args, expect):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    r = runner.invoke(app, ["report", *args])
    assert r.exit_code == 2 and expect in r.stderr
    assert not (tmp_path / "report.html").exists()


def test_report_rejects_a_table_that_is_not_a_sweep(runner, tmp_path):
    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    r = runner.invoke(app, ["report", str(bad), "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and "not a planner sweep table" in r.stderr
    v = tmp_path / "v.json"
    v.write_text("{not json", encoding="utf-8")
    r = runner.invoke(app, ["report", "--validation", str(v), "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and "not valid JSON" in r.stderr


def test_render_json_is_escaped_and_tabular():
    html = render_json({"a<b": [{"x": 1, "y": "<i>"}, {"x": 2.5}], "ok": True, "none": None})
    assert "a&lt;b" in html and "&lt;i&gt;" in html and "<i>" not in html
    assert "<th>x</th>" in html and "<th>y</th>" in html and "true" in html and "null" in html


def test_documents_of_another_scenario_are_refused_unless_allowed(runner, tmp_path):
    from planner.scenario.load import load_scenario, scenario_sha256

    doc = validation_doc()
    v = tmp_path / "v.json"
    # the default scenario's own document (name and content hash) belongs to it
    v.write_text(json.dumps({**doc, "scenario_sha256": scenario_sha256(load_scenario(None))}))
    out = tmp_path / "r.html"
    assert runner.invoke(app, ["report", "--validation", str(v), "--out", str(out)]).exit_code == 0
    # another scenario's document: refused, naming both, nothing written
    v.write_text(json.dumps({**doc, "scenario": "other-hall", "scenario_sha256": "ab" * 32}))
    out.unlink()
    r = runner.invoke(app, ["report", "--validation", str(v), "--out", str(out)])
    assert r.exit_code == 2 and "other-hall" in r.output and "deepseek-r1-default" in r.output
    assert "--allow-mismatch" in r.output and not out.exists()
    # the same name with other content (an override): refused too
    v.write_text(json.dumps({**doc, "scenario_sha256": "ab" * 32}))
    assert runner.invoke(app, ["report", "--validation", str(v), "--out", str(out)]).exit_code == 2
    allowed = runner.invoke(app, ["report", "--validation", str(v), "--out", str(out), "--allow-mismatch"])
    assert allowed.exit_code == 0 and "warning (--allow-mismatch)" in allowed.stderr and out.exists()


def test_a_sweep_document_of_another_scenario_is_a_mismatch():
    import pandas as pd

    from planner.report.html import SweepResults, document_mismatches
    from planner.scenario.load import load_scenario, scenario_sha256

    sf = load_scenario(None)
    own = SweepResults(pd.DataFrame(), [], "s.json", "default.yaml", scenario_sha256(sf))
    other = SweepResults(pd.DataFrame(), [], "s.json", "other.yaml", "cd" * 32)
    older = SweepResults(pd.DataFrame(), [], "s.csv", None, None)  # a CSV records no scenario
    assert document_mismatches(sf, None, own) == [] and document_mismatches(sf, None, older) == []
    assert "the sweep document is of other.yaml" in document_mismatches(sf, None, other)[0]
    # an override changes the content hash
    assert scenario_sha256(load_scenario(None, {"constraints.power_cap_mw": 11})) != scenario_sha256(sf)


def test_a_validation_document_with_wrong_types_is_refused(runner, tmp_path):
    r = runner.invoke(app, ["validate", "--json", "--windows", "1", "--window-s", "5", "--warmup-s", "1"])
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    for key, value, said in (
        ("slo_attainment", "x", "slo_attainment: Input should be a valid number"),
        ("windows", [1], "windows[0]: expected a mapping"),
        ("accounting", {"total": {"tokens": "x"}}, "accounting.total.tokens:"),
    ):
        (tmp_path / "v.json").write_text(json.dumps({**doc, key: value}))
        r = runner.invoke(app, ["report", "--validation", str(tmp_path / "v.json"), "--out", str(tmp_path / "r.html")])
        assert r.exit_code == 2 and said in r.stderr, r.output
        assert not (tmp_path / "r.html").exists()


def test_a_plan_on_estimates_reports_them_and_its_band_edges(runner, tmp_path):
    """The report of a plan on estimated throughput names the estimated SKUs, each number with its
    basis, and the fleet and cost at every band edge, as `planner plan` does."""
    from planner.pipeline import run_plan

    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", "qwen3-estimate", "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert '<a href="#estimates">Estimated throughput</a>' in text
    section = text.split("<h2>Estimated throughput</h2>", 1)[1].split("</section>", 1)[0]
    band = run_plan(scenarios_dir() / "qwen3-estimate.yaml").throughput_band
    assert f"<b>{band['planned_on']}</b>" in section and ", ".join(band["estimated_skus"]) in section
    for n in band["estimated"]:
        assert f"{n['tokens_per_s_per_gpu']:,.0f}" in section and n["basis"].split(";")[0] in section
    for edge, v in band["edges"].items():
        cells = re.search(rf"<td>{edge}</td><td>([^<]*)</td><td>([^<]*)</td><td class=num>([^<]*)</td>", section)
        assert cells.group(1) == ("same fleet" if v["same_fleet"] else "fleet changes")
        assert cells.group(3) == f"${v['cost_per_million_tokens']:,.4f}"
        for sku, units in v["fleet"].items():
            assert f"{sku} {units:g}" in cells.group(2)
    assert ("changes within the band" in section) == (not band["same_fleet_at_edges"])
    # a plan on measured figures only has no such section
    r = runner.invoke(app, ["report", "--out", str(tmp_path / "d.html")])
    assert "Estimated throughput" not in (tmp_path / "d.html").read_text()
