"""The cost-per-token table, library and CLI."""

from __future__ import annotations

import json

import pytest

from planner.cli.main import app
from planner.compare import Ownership, compare
from planner.errors import ScenarioError


def rows_by_sku(result):
    return {r.sku: r for r in result.rows}


def test_default_reproduces_nvidia_table(catalog):
    rows = rows_by_sku(compare(catalog))
    h, b = rows["h200-sxm"], rows["gb300-nvl72"]
    # Hopper within 3 %, Blackwell within 5 % of the published figures
    assert h.cost_per_million_tokens == pytest.approx(4.20, rel=0.03)
    assert h.tokens_per_s_per_mw == pytest.approx(54_000, rel=0.03)
    assert b.cost_per_million_tokens == pytest.approx(0.12, rel=0.05)
    assert b.tokens_per_s_per_mw == pytest.approx(2.8e6, rel=0.05)
    assert h.pflops_per_dollar_hour == pytest.approx(2.8, rel=0.03)
    assert b.pflops_per_dollar_hour == pytest.approx(5.6, rel=0.05)
    gap = h.cost_per_million_tokens / b.cost_per_million_tokens
    assert 33 <= gap <= 37
    assert b.ratio_to_first["cost_per_gpu_hour"] == pytest.approx(2.652 / 1.41)


def test_low_interactivity_gap_is_far_smaller(catalog):
    rows = rows_by_sku(compare(catalog, interactivity=35))
    gap = rows["h200-sxm"].cost_per_million_tokens / rows["gb300-nvl72"].cost_per_million_tokens
    assert 5 <= gap <= 12  # "nearer 10x", not 35x


def test_tiers_and_power_basis(catalog):
    neo = rows_by_sku(compare(catalog, tier="neocloud"))
    assert neo["h200-sxm"].cost_per_gpu_hour == 1.74
    it = rows_by_sku(compare(catalog, power_basis="it", ownership=Ownership(pue=1.3)))
    assert it["h200-sxm"].facility_kw_per_gpu == pytest.approx(1.275 * 1.3)
    owned = rows_by_sku(compare(catalog, tier="owned", ownership=Ownership(rate=0.1, electricity_usd_per_kwh=0.08)))
    # H200 capex midpoint 33,500 $, CRF(10 %, 4 y), IT 1.275 kW x PUE 1.3 x $0.08
    expected = 33_500 * 0.315471 / 8760 + 1.275 * 1.3 * 0.08
    assert owned["h200-sxm"].cost_per_gpu_hour == pytest.approx(expected, rel=1e-5)


def test_all_skips_skus_without_reach(catalog):
    result = compare(catalog, skus=["all"], workload="deepseek-r1-8k1k", interactivity=100)
    chosen = {r.sku for r in result.rows}
    assert {"h200-sxm", "gb300-nvl72", "gb200-nvl72", "b200-sxm"} <= chosen
    assert any(s.startswith("mi300x") for s in result.skipped)


def test_named_sku_out_of_range_is_an_error(catalog):
    with pytest.raises(ScenarioError, match="mi300x.*spans 11.7-42"):
        compare(catalog, skus=["mi300x"], workload="deepseek-r1-8k1k", interactivity=100)


def test_unknown_sku_suggests(catalog):
    with pytest.raises(ScenarioError, match="did you mean 'h200-sxm'"):
        compare(catalog, skus=["h200_sxm"])


def test_cli_compare_json(runner):
    result = runner.invoke(app, ["compare", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["sku"] for r in rows] == ["h200-sxm", "gb300-nvl72"]
    for key in (
        "sku",
        "family",
        "workload",
        "cost_per_gpu_hour",
        "tokens_per_s_per_gpu",
        "tokens_per_s_per_mw",
        "cost_per_million_tokens",
        "pflops_per_dollar_hour",
    ):
        assert key in rows[0]


def test_cli_compare_table(runner):
    result = runner.invoke(app, ["compare", "-i", "35", "--sku", "h200-sxm", "--sku", "gb300-nvl72"])
    assert result.exit_code == 0, result.output
    assert "h200-sxm" in result.stdout and "gb300-nvl72" in result.stdout
    assert "interpolated" in result.stdout


def test_cli_compare_bad_inputs(runner):
    bad_sku = runner.invoke(app, ["compare", "--sku", "h900"])
    assert bad_sku.exit_code == 2 and "unknown SKU 'h900'" in bad_sku.output
    out_of_range = runner.invoke(app, ["compare", "-i", "500"])
    assert out_of_range.exit_code == 2 and "no measurement reaches 500" in out_of_range.output
    bad_tier = runner.invoke(app, ["compare", "--tier", "cheap"])
    assert bad_tier.exit_code == 2
    assert "Traceback" not in bad_sku.output + out_of_range.output + bad_tier.output


def test_cli_catalog(runner):
    result = runner.invoke(app, ["catalog"])
    assert result.exit_code == 0, result.output
    for sku in ("h100-sxm", "h200-sxm", "b200-sxm", "b300-sxm", "gb200-nvl72", "gb300-nvl72", "mi300x", "mi355x"):
        assert sku in result.stdout
    assert "ix-constants" in result.stdout
    data = json.loads(runner.invoke(app, ["catalog", "--json"]).stdout)
    assert {w["id"] for w in data["workloads"]} >= {"deepseek-r1-8k1k", "deepseek-r1-1k1k", "gpt-oss-120b-1k1k"}


@pytest.mark.parametrize(
    "args, named",
    [
        (["--pue", "1.2"], "--pue"),
        (["--rate", "0.05", "--electricity", "0.1"], "--rate, --electricity"),
        (["--tier", "neocloud", "--life-years", "5"], "--life-years"),
    ],
)
def test_compare_refuses_flags_without_effect(runner, args, named):
    from planner.cli.main import app

    r = runner.invoke(app, ["compare", *args])
    assert r.exit_code == 2 and f"{named} ha" in r.stderr and "no effect" in r.stderr, r.output
    for ok in (["--power-basis", "it", "--pue", "1.2"], ["--tier", "owned", "--pue", "1.2", "--rate", "0.05"]):
        assert runner.invoke(app, ["compare", *ok]).exit_code == 0
