"""Fleet validation: queueing theory, failure theory, determinism, the closed loop, plan files, CLI."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from planner.cli.main import app
from planner.errors import ScenarioError
from planner.optimize.run import plan_fleet
from planner.validate.arrivals import RequestProfile, draw_arrivals
from planner.validate.failures import Reliability, simulate_outages
from planner.validate.fluid import erlang_c, mmc_mean_wait
from planner.validate.loop import validate_loop
from planner.validate.pools import PoolSpec, SlotModel, slot_model, split_domains
from planner.validate.sim import ValidationOptions, simulate_fleet
from planner.validate.window import simulate_window

from helpers import OPTIONS, assert_matches_schema, problem, sku

EXP = RequestProfile("w", mean_tokens=1.0, output_share=1.0, interactivity=None, length_kind="exponential")


def one_pool(c: int) -> PoolSpec:
    # c slots of rate 1 token/s; 1-token mean requests: service rate mu = 1 per slot
    return PoolSpec(0, "s", 0, "w", 0, c, 1, SlotModel(1, 1.0, 1.0, True))


def test_erlang_c_hand_values():
    # M/M/1: C = rho; M/M/2 with a = 1: C = (a^2/2 / (1 - a/2)) / (1 + a + a^2/2/(1 - a/2)) = 1/3
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0)
    assert mmc_mean_wait(1, 0.5, 1.0) == pytest.approx(0.5 / (1.0 - 0.5))  # M/M/1: rho / (mu - lambda)


def test_mmc_waiting_matches_erlang_c():
    """Poisson arrivals, exponential service, 10 identical servers at rho = 0.8, no failures.

    Erlang C mean wait W_q = C(10, 8) / (10 - 8) = 0.2047 s. With ~80k measured requests the
    batch-means standard error is about 2% of W_q; tolerance 7% (over 3 standard errors).
    """
    c, lam = 10, 8.0
    res = simulate_window(
        [one_pool(c)],
        [EXP],
        np.array([lam]),
        [np.array([1.0])],
        10_000.0,
        np.random.default_rng(7),
        warmup_s=200.0,
        patience_s=1e12,
    )
    expected = mmc_mean_wait(c, lam, 1.0)
    assert expected == pytest.approx(0.2047, abs=1e-3)
    assert res.served.all()
    assert np.nanmean(res.wait_s) == pytest.approx(expected, rel=0.07)
    # P(wait > 0) is Erlang C itself
    assert (res.wait_s > 0).mean() == pytest.approx(erlang_c(c, lam), rel=0.05)


def test_conservation_and_patience():
    """Overloaded pool (rho = 2): every measured request is served or gives up, none waits past patience."""
    res = simulate_window(
        [one_pool(5)],
        [EXP],
        np.array([10.0]),
        [np.array([1.0])],
        200.0,
        np.random.default_rng(1),
        patience_s=3.0,
    )
    assert len(res.served) > 1500
    assert (~res.served).sum() > 0.3 * len(res.served)  # about half give up at rho = 2
    assert np.nanmax(res.wait_s) <= 3.0 + 1e-9


def test_poisson_arrival_count_and_gamma_burstiness():
    rng = np.random.default_rng(3)
    t = draw_arrivals(50.0, 2000.0, rng)
    assert len(t) == pytest.approx(100_000, abs=4 * math.sqrt(100_000))  # 4 sigma of a Poisson count
    gaps = np.diff(draw_arrivals(50.0, 2000.0, rng, burstiness=2.0))
    assert gaps.std() / gaps.mean() == pytest.approx(2.0, rel=0.05)


def test_availability_matches_mtbf_over_mtbf_plus_mttr():
    """200 domains of 4 GPUs, MTBF 40 h per GPU -> 10 h per domain, MTTR 2 h: A = 10/12 = 0.8333.

    2,000 h x 200 domains ~ 33k cycles; the standard error of the time average is ~0.1%; tolerance 1%.
    """
    rel = Reliability(mtbf_hours_per_gpu=40.0, mttr_hours=2.0, gpus_per_domain=4)
    s = sku("x", g=8)
    out = simulate_outages(s, 0, 200, rel, 2000.0, seed=11)
    edges = np.array([0.0, 2000.0])
    simulated = 1.0 - out.mean_down_domains(edges)[0] / 200
    assert rel.availability == pytest.approx(10.0 / 12.0)
    assert simulated == pytest.approx(10.0 / 12.0, rel=0.01)
    # failure rate: one per (MTBF + MTTR) per domain
    assert len(out.failure_times_h) == pytest.approx(200 * 2000.0 / 12.0, rel=0.03)


def test_maintenance_is_scheduled_in_quiet_slices():
    rel = Reliability(None, 4.0, 8)
    busy = np.array([0.9, 0.1, 0.8, 0.2, 0.95, 0.05, 0.7, 0.6])
    out = simulate_outages(
        sku("x"), 0, 4, rel, 8.0, 0, maintenance_hours_per_week=21.0, busy_share=busy, starts_h=np.arange(8.0)
    )
    down = out.mean_down_domains(np.arange(9.0))
    assert out.maintenance_domain_hours == pytest.approx(4 * 21.0 * 8.0 / 168.0)  # 1 h per domain
    assert down[[0, 2, 4]].sum() == 0  # busiest slices untouched
    assert down[5] > 0  # the quietest slice hosts maintenance


def test_slot_model_keeps_throughput_and_interactivity():
    prof = RequestProfile("chat", 9216.0, 1024 / 9216, 35.0)
    m = slot_model(16_900.0, 4, prof)
    assert m.slots_per_domain == math.floor(16_900 * 4 / (35 * 9)) == 214
    assert m.slots_per_domain * m.slot_tokens_per_s == pytest.approx(16_900.0 * 4)
    assert m.meets_interactivity and m.user_output_tokens_per_s >= 35.0
    slow = slot_model(100.0, 1, RequestProfile("f", 9216.0, 1024 / 9216, 164.0))
    assert slow.slots_per_domain == 1 and not slow.meets_interactivity
    assert list(split_domains(10, np.array([1.0, 2.0, 0.0]))) == [3, 7, 0]


# ---- the fleet ------------------------------------------------------------------------------

PROF = {"w": RequestProfile("w", 100.0, 0.5, 5.0)}  # 10 tokens/s per request: slots = throughput / 10


def small_problem(util: float = 1.0, demand=(4000.0, 9000.0, 6000.0)):
    skus = [
        replace(s, mtbf_hours_per_gpu=400.0, mttr_hours=2.0, gpus_per_failure_domain=8)
        for s in (sku("a", g=8, cost=1.0, thr=100.0), sku("b", g=8, cost=1.5, thr=160.0))
    ]
    return problem(skus, [list(demand)], util=util)


FAST = ValidationOptions(seed=5, windows=1, window_s=60.0, warmup_s=20.0)


def test_same_seed_same_result_and_seed_recorded():
    p = small_problem()
    plan = plan_fleet(p, OPTIONS, explain=False)
    a = simulate_fleet(p, plan, PROF, FAST).to_dict()
    b = simulate_fleet(p, plan, PROF, FAST).to_dict()
    for d in (a, b):
        d.pop("timings")
        for w in d["windows"]:
            w.pop("wall_s")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert a["seed"] == 5


def test_no_failures_no_headroom_vs_headroom():
    p = small_problem(util=0.8)
    plan = plan_fleet(p, OPTIONS, explain=False)
    r = simulate_fleet(p, plan, PROF, replace(FAST, failures=False))
    assert r.served_fraction == pytest.approx(1.0)
    assert r.slo_attainment > 0.99
    assert all(a["simulated"] == 1.0 for a in r.availability.values())
    # every deployed GPU is paid: realised cost >= planned when all is served
    assert r.realized_cost_per_million_tokens == pytest.approx(r.planned_cost_per_million_tokens, rel=1e-6)
    assert 0 < max(r.utilization.values()) <= 0.8 + 1e-9


def test_closed_loop_monotone_and_reaches_slo():
    p = small_problem(util=1.0)
    loop = validate_loop(p, PROF, FAST, OPTIONS, slo=0.999, step=0.05, min_utilization=0.5)
    att = [it.slo_attainment for it in loop.iterations if it.slo_attainment is not None]
    assert loop.iterations[0].max_utilization == 1.0
    assert all(b >= a - 1e-12 for a, b in zip(att, att[1:], strict=False))  # non-decreasing in headroom
    assert loop.met and loop.stopped_by == "slo_met"
    assert att[-1] >= 0.999 and (len(att) == 1 or att[0] < 0.999)
    assert loop.headroom_price_per_million_tokens >= -1e-9


def test_closed_loop_stops_at_a_cap():
    one = replace(sku("a", g=8, thr=100.0), mtbf_hours_per_gpu=400.0, mttr_hours=2.0, gpus_per_failure_domain=8)
    base = problem([one], [[4000.0, 9600.0, 6000.0]], util=1.0)  # the peak fills 12 nodes exactly: rho = 1
    mw = plan_fleet(base, OPTIONS, explain=False).power_mw
    p = replace(base, power_cap_mw=mw * 1.001)  # no room for a single extra node: headroom is impossible
    strict = replace(FAST, targets=replace(FAST.targets, max_queue_delay_s=0.1))
    loop = validate_loop(p, PROF, strict, OPTIONS, slo=0.999, step=0.1)
    assert not loop.met
    assert loop.stopped_by.startswith("infeasible")
    assert loop.final_index == 0 and loop.iterations[-1].status == "infeasible"
    assert loop.iterations[0].slo_attainment < 0.999


def test_bad_options_are_scenario_errors():
    with pytest.raises(ScenarioError, match="mtbf_hours_per_gpu"):
        ValidationOptions(mtbf_hours_per_gpu=-5.0).check()
    with pytest.raises(ScenarioError, match="router"):
        ValidationOptions(router="random").check()
    with pytest.raises(ScenarioError, match="`mtbf_hours_per_gpu` has no effect with failures off"):
        ValidationOptions(failures=False, mtbf_hours_per_gpu=1000.0).check()
    with pytest.raises(ScenarioError, match="slo"):
        validate_loop(small_problem(), PROF, FAST, OPTIONS, slo=1.5)


# ---- CLI -------------------------------------------------------------------------------------

SMALL = ["--windows", "1", "--window-s", "10", "--warmup-s", "5"]


def test_cli_validate_json(runner):
    result = runner.invoke(app, ["validate", "--json", "--seed", "3", *SMALL])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    for key in (
        "slo_attainment",
        "served_fraction",
        "realized_cost_per_million_tokens",
        "planned_cost_per_million_tokens",
        "utilization",
        "seed",
    ):
        assert key in doc
    assert doc["seed"] == 3
    assert_matches_schema(doc, "validation")
    assert 0.9 < doc["slo_attainment"] <= 1.0
    assert "gb300-nvl72" in doc["utilization"]
    assert doc["realized_cost_per_million_tokens"] >= doc["planned_cost_per_million_tokens"] * (1 - 1e-9)


def test_cli_validate_human_and_out(runner, tmp_path):
    result = runner.invoke(
        app, ["validate", "--no-failures", "--router", "least_loaded", "--out", str(tmp_path), *SMALL]
    )
    assert result.exit_code == 0, result.output
    assert "SLO attainment" in result.stdout and "request-level windows" in result.stdout
    assert (tmp_path / "validation.json").exists() and (tmp_path / "validation_slices.csv").exists()


def test_cli_validate_plan_file(runner, tmp_path):
    r = runner.invoke(app, ["plan", "--no-explain", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    plan_json = tmp_path / "plan.json"
    ok = runner.invoke(app, ["validate", "--plan", str(plan_json), "--json", *SMALL])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)
    assert doc["planned_cost_per_million_tokens"] == pytest.approx(
        json.loads(plan_json.read_text())["cost_per_million_tokens"]
    )

    bad = json.loads(plan_json.read_text())
    bad["fleet"][0]["sku"] = "h300-sxm"
    (tmp_path / "unknown.json").write_text(json.dumps(bad))
    r = runner.invoke(app, ["validate", "--plan", str(tmp_path / "unknown.json"), *SMALL])
    assert r.exit_code == 2 and "unknown SKU 'h300-sxm'" in r.output

    other = json.loads(plan_json.read_text())
    other["unserved_tokens"] = {"code": 0.0}
    (tmp_path / "other.json").write_text(json.dumps(other))
    r = runner.invoke(app, ["validate", "--plan", str(tmp_path / "other.json"), *SMALL])
    assert r.exit_code == 2 and "does not match scenario" in r.output and "code" in r.output

    (tmp_path / "broken.json").write_text("{not json")
    r = runner.invoke(app, ["validate", "--plan", str(tmp_path / "broken.json")])
    assert r.exit_code == 2 and "not a readable plan" in r.output
    r = runner.invoke(app, ["validate", "--plan", str(tmp_path / "missing.json")])
    assert r.exit_code == 2 and "plan file not found" in r.output


def test_cli_validate_bad_inputs(runner):
    r = runner.invoke(app, ["validate", "--mtbf-hours", "-5", *SMALL])
    assert r.exit_code == 2 and "mtbf_hours_per_gpu" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["validate", "--set", "skus.gb300-nvl72.mtbf_hours_per_gpu=-1", *SMALL])
    assert r.exit_code == 2 and "mtbf_hours_per_gpu" in r.output
    r = runner.invoke(app, ["validate", "--router", "random", *SMALL])
    assert r.exit_code == 2 and "router" in r.output
    r = runner.invoke(app, ["validate", "--burstiness", "0", *SMALL])
    assert r.exit_code == 2 and "burstiness" in r.output


TINY = """
name: tiny
skus:
  - {id: small, gpus_per_unit: 8, power_kw_per_gpu: 1.0, cost_per_gpu_hour: 1.0, throughput: {w: 100},
     mtbf_hours_per_gpu: 2000, mttr_hours: 2}
  - {id: big, gpus_per_unit: 8, power_kw_per_gpu: 1.2, cost_per_gpu_hour: 1.4, throughput: {w: 150},
     mtbf_hours_per_gpu: 2000, mttr_hours: 2}
demand: {load_curve: tiny.csv}
constraints: {max_utilization: 1.0}
"""


def test_cli_plan_validate_loop(runner, tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    (tmp_path / "tiny.csv").write_text("hour,w\n0,4000\n1,9000\n2,6000\n")
    r = runner.invoke(
        app,
        [
            "plan",
            str(tmp_path / "tiny.yaml"),
            "--no-explain",
            "--validate",
            "--slo",
            "0.995",
            "--headroom-step",
            "0.05",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    v = doc["validation"]
    assert v["iterations"][0]["max_utilization"] == 1.0
    att = [it["slo_attainment"] for it in v["iterations"] if it["slo_attainment"] is not None]
    assert all(b >= a for a, b in zip(att, att[1:], strict=False))
    assert v["met"] and att[-1] >= 0.995 and len(att) >= 2
    assert v["headroom_price_per_million_tokens"] > 0
    # the plan printed is the final iteration's
    assert doc["cost_per_million_tokens"] == pytest.approx(v["iterations"][-1]["planned_cost_per_million_tokens"])
    human = runner.invoke(
        app,
        [
            "plan",
            str(tmp_path / "tiny.yaml"),
            "--no-explain",
            "--validate",
            "--slo",
            "0.995",
            "--headroom-step",
            "0.05",
        ],
    )
    assert human.exit_code == 0, human.output
    assert "closed loop" in human.stdout and "price of headroom" in human.stdout
    r = runner.invoke(app, ["plan", "--validate", "--slo", "2"])
    assert r.exit_code == 2 and "--slo" in r.output


def test_closed_loop_starts_at_the_scenario_or_at_no_headroom():
    p = small_problem(util=0.9)
    loop = validate_loop(p, PROF, FAST, OPTIONS, slo=0.5, step=0.05)
    assert loop.start == "scenario" and loop.start_max_utilization == pytest.approx(0.9)
    assert loop.iterations[0].max_utilization == pytest.approx(0.9)
    # the reference is the plan at 1.0, planned and simulated apart from the iterations
    ref = plan_fleet(replace(p, max_utilization=1.0), OPTIONS, explain=False)
    assert loop.reference_cost_per_million_tokens == pytest.approx(ref.cost_per_million_tokens)
    assert loop.reference_slo_attainment is not None
    final = loop.iterations[loop.final_index].planned_cost_per_million_tokens
    assert loop.headroom_price_per_million_tokens == pytest.approx(final - ref.cost_per_million_tokens)
    fresh = validate_loop(p, PROF, FAST, OPTIONS, slo=0.5, step=0.05, from_no_headroom=True)
    assert fresh.start == "no_headroom" and fresh.iterations[0].max_utilization == 1.0
    assert fresh.reference_cost_per_million_tokens == pytest.approx(ref.cost_per_million_tokens)
    assert fresh.to_dict()["start"] == "no_headroom"


def test_windows_include_the_demand_peak():
    p = small_problem(demand=(4000.0, 9000.0, 6000.0))
    plan = plan_fleet(p, OPTIONS, explain=False)
    r = simulate_fleet(p, plan, PROF, replace(FAST, windows=2, failures=False))
    assert [w.selected_by for w in r.windows] == ["demand_peak", "most_loaded_pool"]
    assert r.windows[0].hour == 1.0  # the 9000 tokens/s slice
    assert r.windows[1].hour != 1.0


def test_negative_seed_is_a_scenario_error(runner):
    with pytest.raises(ScenarioError, match="seed"):
        ValidationOptions(seed=-1).check()
    for args in (["validate", "--seed", "-1", *SMALL], ["plan", "--validate", "--seed", "-1"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2, r.output
        assert "--seed" in r.output and "Traceback" not in r.output


def test_plan_file_bad_sku_rows(runner, tmp_path):
    r = runner.invoke(app, ["plan", "--no-explain", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "plan.json").read_text())
    listed = dict(doc)
    listed["fleet"] = [{**doc["fleet"][0], "sku": ["x"]}, *doc["fleet"][1:]]
    (tmp_path / "listed.json").write_text(json.dumps(listed))
    r = runner.invoke(app, ["validate", "--plan", str(tmp_path / "listed.json"), *SMALL])
    assert r.exit_code == 2, r.output
    assert "fleet[0].sku: ['x'] is not a SKU id" in r.output and "Traceback" not in r.output
    twice = dict(doc)
    twice["fleet"] = [*doc["fleet"], {**doc["fleet"][0], "units": doc["fleet"][0]["units"] + 1}]
    (tmp_path / "twice.json").write_text(json.dumps(twice))
    r = runner.invoke(app, ["validate", "--plan", str(tmp_path / "twice.json"), *SMALL])
    n = len(doc["fleet"])
    assert r.exit_code == 2 and f"fleet[{n}].sku: {doc['fleet'][0]['sku']} appears twice" in r.output
    for key, value, said in (
        ("status", 5, "plan.status: Input should be 'optimal'"),
        ("cost_per_million_tokens", "x", "plan.cost_per_million_tokens: Input should be a valid number"),
    ):
        (tmp_path / "odd.json").write_text(json.dumps({**doc, key: value}))
        r = runner.invoke(app, ["validate", "--plan", str(tmp_path / "odd.json"), *SMALL])
        assert r.exit_code == 2 and said in r.output, r.output


def test_plan_file_dispatch_csv_is_read(runner, tmp_path):
    r = runner.invoke(app, ["plan", "--no-explain", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    csv_path = tmp_path / "dispatch.csv"
    lines = csv_path.read_text().splitlines()
    cols = lines[0].split(",")
    row = lines[1].split(",")
    row[cols.index("busy_gpus_at_peak")] = str(float(row[cols.index("busy_gpus_at_peak")]) + 1e6)
    csv_path.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    r = runner.invoke(app, ["validate", "--plan", str(tmp_path / "plan.json"), *SMALL])
    assert r.exit_code == 2 and "dispatch.csv" in r.output and "busy GPUs" in r.output
    csv_path.write_text("\n".join(lines[:-1]) + "\n")  # one row short
    r = runner.invoke(app, ["validate", "--plan", str(tmp_path / "plan.json"), *SMALL])
    assert r.exit_code == 2 and "missing" in r.output


def test_cli_plan_validate_exits_3_when_slo_not_reached(runner, tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    (tmp_path / "tiny.csv").write_text("hour,w\n0,4000\n1,9000\n2,6000\n")
    args = ["plan", str(tmp_path / "tiny.yaml"), "--no-explain", "--validate", "--slo", "0.995"]
    r = runner.invoke(app, [*args, "--min-utilization", "1.0", "--json"])
    assert r.exit_code == 3, r.output
    assert "not reached" in r.stderr and "min_utilization" in r.stderr
    v = json.loads(r.stdout)["validation"]
    assert not v["met"] and v["stopped_by"] == "min_utilization" and len(v["iterations"]) == 1


def test_inline_skus_fail_at_a_stated_default(tmp_path, runner):
    from planner.catalog.load import shipped_catalog
    from planner.optimize.problem import default_reliability
    from planner.pipeline import scenario_problem
    from planner.scenario.load import load_scenario

    (tmp_path / "curve.csv").write_text("hour,chat\n0,1000000\n1,2500000\n2,4000000\n3,1500000\n")
    (tmp_path / "s.yaml").write_text(
        "name: inline\n"
        "skus:\n"
        "  - {id: hopper-node, family: hopper, gpus_per_unit: 8, power_kw_per_gpu: 1.28, cost_per_gpu_hour: 1.41,"
        " throughput: {chat: 1100}}\n"
        "  - {id: own-box, gpus_per_unit: 8, power_kw_per_gpu: 1.0, cost_per_gpu_hour: 1.0, throughput: {chat: 900},"
        " mtbf_hours_per_gpu: 20000, mttr_hours: 6}\n"
        "workloads: {chat: {catalog: deepseek-r1-8k1k}}\n"
        "demand: {load_curve: curve.csv}\n"
    )
    problem = scenario_problem(load_scenario(tmp_path / "s.yaml"))
    node, box = problem.skus
    mtbf, mttr, which = default_reliability(shipped_catalog(), "hopper")
    assert (node.mtbf_hours_per_gpu, node.mttr_hours) == (mtbf, mttr) and which == "the catalog's hopper SKUs"
    assert node.reliability_basis.startswith("default (") and f"{mtbf:g} h MTBF per GPU" in node.reliability_basis
    assert (box.mtbf_hours_per_gpu, box.mttr_hours, box.reliability_basis) == (20000, 6, "scenario")
    result = runner.invoke(app, ["validate", str(tmp_path / "s.yaml"), "--json", *SMALL])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    chosen = [s for s in ("hopper-node", "own-box") if s in doc["reliability"]]
    assert chosen, doc["reliability"]
    for s in chosen:
        assert doc["reliability"][s]["mtbf_hours_per_gpu"] is not None  # every SKU can fail
    if "hopper-node" in doc["reliability"]:
        assert doc["reliability"]["hopper-node"]["basis"].startswith("default (")
        assert any("hopper-node fails at a default" in n for n in doc["notes"])


# ---- token accounting -----------------------------------------------------------------------

ONE_SLOT_PER_GPU = {"w": RequestProfile("w", 100.0, 0.5, None)}  # 100 tokens; a request holds a GPU at theta


def overloaded(demand: list[float], peak: list[float] | None = None):
    """One 10-GPU unit at 100 tokens/s per GPU (10 slots of 1 request/s), a fixed fleet."""
    from planner.validate.planfile import plan_for_units

    p = problem([sku("a", g=10, thr=100.0)], [demand], peak=None if peak is None else [peak])
    return p, plan_for_units(p, {"a": 1}, OPTIONS)


def accounts_exactly(acc: dict) -> None:
    for name, entry in acc.items():
        for unit in ("tokens", "requests"):
            e = entry[unit]
            assert all(isinstance(v, int) and v >= 0 for v in e.values()), (name, unit, e)
            assert e["demanded"] == e["served"] + e["dropped"] + e["backlog"], (name, unit, e)
            assert e["interrupted"] <= e["served"] + e["dropped"]


def test_overloaded_fleet_reports_what_it_can_complete():
    """14 requests/s for an hour against 10 slots of 1 request/s: at most 10 x 3600 requests
    (3.6M tokens) complete, 60 s of work (600 requests) are still queued at the end, the rest gave up."""
    p, plan = overloaded([1400.0])
    r = simulate_fleet(p, plan, ONE_SLOT_PER_GPU, replace(FAST, failures=False))
    acc = r.to_dict()["accounting"]
    accounts_exactly(acc)
    tok = acc["w"]["tokens"]
    assert tok["demanded"] == 1400 * 3600
    assert tok["served"] == pytest.approx(1000 * 3600, abs=1)  # capacity, not demand
    assert tok["backlog"] == pytest.approx(60 * 1000, abs=1)  # patience x capacity
    assert tok["dropped"] == tok["demanded"] - tok["served"] - tok["backlog"]
    assert r.tokens_served == tok["served"] and r.served_fraction == pytest.approx(10 / 14, rel=0.01)
    cost = r.realized_cost_usd
    assert r.realized_cost_per_million_tokens == pytest.approx(cost / tok["served"] * 1e6)
    assert r.slo_attainment < 0.05  # a queue of a minute: almost nobody starts within 1 s


def test_backlog_carries_and_drains_and_accounts():
    """Overload in slice 0 leaves a queue that slice 1 (light) serves first; windows start from it."""
    p, plan = overloaded([1200.0, 200.0])
    r = simulate_fleet(p, plan, ONE_SLOT_PER_GPU, replace(FAST, failures=False, windows=2))
    acc = r.to_dict()["accounting"]
    accounts_exactly(acc)
    tok = acc["w"]["tokens"]
    assert tok["backlog"] == 0  # slice 1 drains it
    assert tok["served"] == pytest.approx(1000 * 3600 + 200 * 3600 + 60 * 1000, abs=2)
    by_hour = {w.hour: w for w in r.windows}
    assert by_hour[0.0].offset_s > 3000  # the overloaded slice's window sits at its largest queue (the end)
    assert by_hour[0.0].initial_queue == {"a/w": 600}
    assert by_hour[1.0].offset_s == 0.0 and by_hour[1.0].initial_queue == {
        "a/w": 600
    }  # and the next one starts with it
    assert by_hour[0.0].slo_attainment < 0.05 and by_hour[0.0].dropped > 0


@pytest.mark.parametrize("failures", [False, True])
def test_accounting_is_exact_on_random_fleets(failures):
    rng = np.random.default_rng(4)
    for _ in range(3):
        demand = rng.uniform(2000.0, 12000.0, 6).tolist()
        p = small_problem(util=1.0, demand=demand)
        plan = plan_fleet(p, OPTIONS, explain=False)
        r = simulate_fleet(p, plan, PROF, replace(FAST, failures=failures))
        d = r.to_dict()
        accounts_exactly(d["accounting"])
        assert d["accounting"]["total"]["tokens"]["demanded"] == round(sum(demand) * 3600)
        q = d["queueing"]["w"]["all"]
        assert 0 <= q["p_late"] <= q["p_wait"] <= 1 and 0 <= q["p95_s"] <= q["p99_s"] <= FAST.targets.patience_s


def test_queue_checks_match_the_readme_and_its_stated_bounds():
    """The README's table of analytic models against the simulation is what the code measures."""
    from pathlib import Path

    from planner.validate.checks import markdown, queue_checks

    rows = queue_checks(workers=2)  # the same rows as serially: each case has its own seed
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("<!-- queue-checks:begin -->\n")[1].split("<!-- queue-checks:end -->")[0]
    assert block == markdown(rows), "README table is stale: python -m planner.validate.checks"
    assert len(rows) == 24
    for r in rows:
        if r.sim_mean_wait_s > 0.01:  # waiting beyond 1 % of a holding time
            if r.model == "allen_cunneen":
                assert abs(r.mean_wait_error) <= 0.15, r
            else:
                assert 0.015 <= r.mean_wait_error < 1.155, r  # "+2 % to +115 %" as the table rounds
        if r.queue == "M/M/c":  # Erlang C is exact there: the simulation's sampling error
            assert r.sim_p_wait == pytest.approx(r.erlang_c, abs=0.03), r


def test_slice_token_series_add_up_to_the_accounting():
    p, plan = overloaded([1200.0, 200.0, 1500.0])
    r = simulate_fleet(p, plan, ONE_SLOT_PER_GPU, replace(FAST, failures=False))
    tok = r.accounting["w"]["tokens"]
    s = r.slice_tokens
    assert sum(s["served"]) == pytest.approx(tok["served"], abs=2)
    assert sum(s["dropped"]) == pytest.approx(tok["dropped"], abs=2)
    assert s["backlog"][-1] == pytest.approx(tok["backlog"], abs=1)
    assert s["backlog"][0] == pytest.approx(60 * 1000) and s["backlog"][1] == 0  # built, then drained
    assert max(s["served"]) <= 1000 * 3600 + 60 * 1000 + 1e-6  # never more than capacity plus the queue on hand
