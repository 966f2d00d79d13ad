"""Every figure the README quotes from a shipped scenario is what the code prints today.

Each test recomputes the figures (library or CLI, the shipped scenarios) and checks that the
README's sentence, whitespace folded, contains them as the code formats them. Benchmark
timings are machine-dependent and are not checked here (benchmarks/ prints them). The
queueing-model table is checked in test_validate.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from planner.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
README = " ".join((ROOT / "README.md").read_text().split())


def says(text: str) -> None:
    assert " ".join(text.split()) in README, f"README does not say: {text}"


def run_json(runner, *args: str) -> dict:
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code in (0, 3), r.output
    return json.loads(r.stdout)


def test_headline_cost_per_token(runner):
    rows = run_json(runner, "compare")
    h200, gb300 = rows
    ratio = h200["cost_per_million_tokens"] / gb300["cost_per_million_tokens"]
    says(
        f"Hopper (HGX H200) at ${h200['cost_per_gpu_hour']:.2f} per GPU-hour against Blackwell (GB300 NVL72) at "
        f"${gb300['cost_per_gpu_hour']:.2f}"
    )
    says(
        f"it is ${h200['cost_per_million_tokens']:.2f} against ${gb300['cost_per_million_tokens']:.2f} per million "
        f"tokens ({ratio:.0f}x)"
    )
    low = run_json(runner, "compare", "-i", "35")
    says(f"at 35 tok/s/user about {low[0]['cost_per_million_tokens'] / low[1]['cost_per_million_tokens']:.0f}x")


def test_infeasibility_examples(runner):
    r = runner.invoke(app, ["plan", "--power-cap-mw", "7", "--no-explain"])
    assert r.exit_code == 3
    closed_form = re.search(
        r"peak demand at hour \d+ needs at least [^;]+; the cap is 7 MW", " ".join(r.output.split())
    )
    assert closed_form, r.output
    says(closed_form.group(0))
    r = runner.invoke(app, ["plan", "--power-cap-mw", "8", "--budget-usd-per-hour", "8000", "--no-explain"])
    assert r.exit_code == 3
    joint = re.search(
        r"raising power_cap_mw to \S+ MW and budget_usd_per_hour to \S+ together", " ".join(r.output.split())
    )
    assert joint, r.output
    says(joint.group(0))


def test_power_cap_frontier(runner):
    from planner.sweep.executors import SerialExecutor
    from planner.sweep.frontier import frontier
    from planner.sweep.grid import build_sweep
    from planner.sweep.run import run_sweep

    cap = "constraints.power_cap_mw"
    spec = build_sweep(None, [f"{cap}=9.75,10,10.25,10.5"])
    df = run_sweep(spec, SerialExecutor())
    fr = frontier(df, cap, spec.paths).set_index(cap)
    r = runner.invoke(app, ["plan", "--power-cap-mw", "9.75", "--no-explain"])
    needed = float(re.search(r"raising power_cap_mw from 9.75 to ([0-9.]+) MW", r.output).group(1))
    assert df.loc[df[cap] == 9.75, "status"].iloc[0] == "infeasible"
    at_10, at_1025 = fr.loc[10.0, "cost_per_million_tokens"], fr.loc[10.25, "cost_per_million_tokens"]
    assert fr.loc[10.5, "cost_per_million_tokens"] == pytest.approx(at_1025, rel=1e-9)
    says(
        f"the frontier is infeasible below {needed:.2f} MW, ${at_10:.5f} per million tokens at 10 MW (the cap at its "
        f"limit) and ${at_1025:.5f} from 10.25 MW up (${fr.loc[10.25, 'marginal_usd_per_year']:,.0f} per MW-year over "
        "the 10 -> 10.25 MW step)"
    )


def test_buildout_story(runner):
    doc = run_json(runner, "buildout", "--compare-myopia")
    periods = doc["periods"]
    h200 = [p["fleet"]["h200-sxm"] for p in periods]
    start = h200[0] + periods[0]["retirements"]["h200-sxm"] - periods[0]["purchases"]["h200-sxm"]
    first_two = sum(p["retirements"]["h200-sxm"] for p in periods[:2])
    says(f"{start} HGX H200 nodes (18 months old)")
    says(f"GB200 displaces {first_two} of the {start} H200 nodes in the first two quarters")
    binds = [p["period"] for p in periods if "power_cap" in p["at_limit"]]
    says(f"(power binds in {binds[0]})")
    says(f"({h200[-1]} nodes left in {periods[-1]['period']})")
    first, last = periods[0]["cost_per_million_tokens"], periods[-1]["cost_per_million_tokens"]
    says(f"Cost per million tokens falls from ${first:.4f} to ${last:.4f} ({(last / first - 1) * 100:.0f} %)")
    myopia = doc["myopia"]
    says(
        f"the cost of myopia is ${myopia['cost_of_myopia_usd'] / 1e6:.2f}M "
        f"({myopia['cost_of_myopia_share'] * 100:.2f} % of the present value)"
    )
    says(f"The demand reaches {max(p['power_mw'] for p in periods):.1f} MW by the last quarter")


def test_full_year_aggregation_line(runner):
    r = runner.invoke(app, ["plan", str(ROOT / "scenarios" / "default-year.yaml"), "--no-explain"])
    assert r.exit_code == 0, r.output
    line = re.search(
        r"time aggregation: (\d+) slices -> (\d+) \(.*?\); cost within ([0-9.]+%) of the exact optimum", r.output
    )
    assert line, r.output
    says(
        f"`time aggregation: {line.group(1)} slices -> {line.group(2)} (...); cost within {line.group(3)} of the exact optimum`"
    )
    says(f"({int(line.group(1)):,} hourly slices generated with growth and burstiness")


def test_two_sites_story(runner):
    doc = run_json(runner, "plan", str(ROOT / "scenarios" / "two-sites.yaml"))
    units = {f["sku"]: f["units"] for f in doc["fleet"]}
    liquid = next(c for c in doc["caps"] if c["name"] == "liquid_cooling@hall-a")
    cloud = next(p for p in doc["procurement"] if p["kind"] == "on_demand")
    peak = max(s["peak_gpus"] for s in cloud["by_slice"])
    says(
        f"the base load sits on {units['gb300-rack@hall-a:owned']} owned GB300 NVL72 racks in hall-a, as many as its "
        f"14 MW liquid loop cools ({liquid['used']:.2f} MW used)"
    )
    says(
        f"take {units['h200-node@hall-a:owned']} owned H200 nodes, the colo keeps its "
        f"{units['h200-node@colo-b:existing']} existing nodes and adds {units['h200-node@colo-b:owned']}"
    )
    says(f"burst to the cloud ({cloud['gpu_hours']:,.0f} GPU-hours, up to {peak:,.0f} GPUs)")
    says(f"Cost per million tokens: ${doc['cost_per_million_tokens']:.4f}")
    says(
        f"cooling saves ${liquid['saving_usd']:,.0f} over the week (${liquid['saving_usd_per_year']:,.0f} per MW-year)"
    )
    r = runner.invoke(
        app,
        ["plan", str(ROOT / "scenarios" / "two-sites.yaml"), "--set", "demand.workloads.chat.mean_tokens_per_s=8.6e7"],
    )
    assert r.exit_code == 3
    text = " ".join(r.output.split())
    found = re.search(r"raising sites\.hall-a\.liquid_cooling_mw from 14 to \S+ MW would make it feasible", text)
    assert found, text
    says(found.group(0))
    assert re.search(r"sites\.hall-a\.rack_positions from 120 to 137 racks", text)


def test_two_sites_buildout_story(runner):
    doc = run_json(runner, "buildout", str(ROOT / "scenarios" / "two-sites.yaml"))
    first = doc["periods"][0]["fleet"]
    reserved = sum(n for k, n in first.items() if k.endswith(":reserved"))
    assert doc["periods"][1]["fleet"]["gb300-rack@hall-a:owned"] == 0
    assert doc["periods"][2]["fleet"]["gb300-rack@hall-a:owned"] > 0
    says(f"the first two quarters run on reserved H200 nodes ({reserved} of them, 12-month terms, billed quarter by")
    ended = {p["period"]: p["retirements_end_of_life"]["h200-node@hall-a:reserved"] for p in doc["periods"]}
    says(f"the reserved nodes stay until their terms end in 2028Q1 (`({ended['2028Q1']} term ended)`)")
    assert all(
        p["retirements"][k] == p["retirements_end_of_life"][k]
        for p in doc["periods"]
        for k in p["retirements"]
        if k.endswith(":reserved")
    )
    r = runner.invoke(
        app, ["buildout", str(ROOT / "scenarios" / "two-sites.yaml"), "--set", "buildout.demand.scale=0.1"]
    )
    assert r.exit_code == 3
    found = re.search(
        r"gb300-rack's lead time: 6 months; \S+ months would make it feasible", " ".join(r.output.split())
    )
    assert found, r.output
    says(found.group(0))


def test_curve_scenario_figures(runner):
    doc = run_json(runner, "plan", str(ROOT / "scenarios" / "qwen3-curve.yaml"), "--no-explain")
    thr = {f["sku"]: f["throughput"]["chat"] for f in doc["fleet"]}
    says(
        f"H100's best point reaches {thr['h100-sxm']:,.0f} tokens/s per GPU (disaggregated vLLM) against the "
        f"H200's {thr['h200-sxm']:,.0f}"
    )


def test_throughput_accuracy_figures(runner):
    """The estimator's stated error is what `planner throughput accuracy` measures today."""
    d = run_json(runner, "throughput", "accuracy")
    o, tier, model, r = d["overall"], d["by_tier"], d["by_model"], d["regret"]

    def pct(v: float) -> str:
        return f"{v * 100:.0f} %"

    says(
        f"{o['n']} questions at 20, 35, 50 and 75 tok/s/user, `planner throughput accuracy`): median absolute error "
        f"{pct(o['median_ape'])}, p75 {pct(o['p75_ape'])}, p90 {pct(o['p90_ape'])}; transfer tier "
        f"{pct(tier['transfer']['median_ape'])} median, roofline tier {pct(tier['roofline']['median_ape'])}"
    )
    says(
        f"minimax-m2.5 {pct(model['minimax-m2.5']['median_ape'])} (p90 {pct(model['minimax-m2.5']['p90_ape'])}), "
        f"gpt-oss-120b {pct(model['gpt-oss-120b']['median_ape'])}, deepseek-r1 {pct(model['deepseek-r1']['median_ape'])}"
    )
    says(
        f"The band holds the measured value for {pct(o['band_coverage'])} of points at a median half-width of "
        f"{pct(o['median_band_half_width'])}"
    )
    says(f"within 10 % of the truly cheapest in {pct(r['within_10pct'])} of {r['decisions']} decisions")
    says(f"errs by {pct(d['baseline_median_ratio']['median_ape'])} median")
    same = d["same_backend"]
    says(
        f"With the same serving backend on both SKUs ({same['n']} questions: each backend's own frontiers), "
        f"the error is {pct(same['median_ape'])} median, p75 {pct(same['p75_ape'])}, p90 {pct(same['p90_ape'])}; "
        f"the band holds {pct(same['band_coverage'])} of points at a median half-width of "
        f"{pct(same['median_band_half_width'])}, and the cheapest SKU is within 10 % in "
        f"{pct(same['regret']['within_10pct'])} of {same['regret']['decisions']} decisions"
    )
    floor = d["oracle_model_correction"]
    says(f"the error is still {pct(floor['median_ape'])} median, p90 {pct(floor['p90_ape'])}")
    assert floor["median_ape"] <= o["median_ape"]  # a floor: knowing the answer's correction cannot do worse
