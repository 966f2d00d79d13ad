"""planner report: one self-contained HTML file, checked as text and rendered in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from planner.catalog.load import shipped_catalog
from planner.cli.main import app
from planner.report.html import render_json
from planner.resources import scenarios_dir
from planner.sweep.grid import build_sweep
from planner.sweep.run import run_sweep, table_csv

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def full_report(tmp_path_factory) -> Path:
    """The default scenario's report with a power-cap sweep and validation results."""
    from typer.testing import CliRunner

    d = tmp_path_factory.mktemp("report")
    spec = build_sweep(None, ["constraints.power_cap_mw=9.5,10,11"])
    (d / "sweep.csv").write_text(table_csv(run_sweep(spec)), encoding="utf-8")
    (d / "validation.json").write_text(
        json.dumps(
            {"served_fraction": 0.9987, "slo_attained": True, "per_sku": [{"sku": "gb300-nvl72", "util": 0.41}]}
        ),
        encoding="utf-8",
    )
    out = d / "report.html"
    r = CliRunner().invoke(
        app, ["report", str(d / "sweep.csv"), "--validation", str(d / "validation.json"), "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert f"wrote {out}" in r.stderr and "2 charts" in r.stderr
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
    assert "gb300-nvl72" in html and "served_fraction" in html and "0.9987" in html
    assert html.count('<img class="chart"') == 2 and html.count("data:image/png;base64,") == 2
    # assumptions cite the catalog's sources
    key, citation = next(iter(shipped_catalog().sources.items()))
    assert f"<code>{key}</code>" in html
    # nothing is fetched: no external src/href, stylesheet or script file
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html and "<script src" not in html


def test_report_renders_in_headless_chromium(full_report):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed (.ci/run installs it: apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", full_report.as_uri()],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    body = re.search(r"<body[^>]*>", proc.stdout)
    assert body, proc.stdout[:500]
    total = re.search(r'data-charts-total="(\d+)"', body.group(0))
    loaded = re.search(r'data-charts-loaded="(\d+)"', body.group(0))
    assert total and loaded, f"the load script did not run: {body.group(0)}"
    assert int(total.group(1)) == 2 and int(loaded.group(1)) == 2


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
        (["notes.txt"], "give a scenario (.yaml) or sweep results"),
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
