"""max_tokens and min_cost_per_token on catalog scenarios: the largest fleet that fits at any demand,
no solver tolerance reported as a finding, and the service floor of the ratio objective."""

from __future__ import annotations

import json

import numpy as np
import pytest

from planner.cli.main import app
from planner.milp.solve import SolverOptions
from planner.optimize.problem import solver_options
from planner.optimize.run import plan_fleet, token_tolerance
from planner.pipeline import run_plan, scenario_problem
from planner.scenario.load import load_scenario

HALL = """name: h200-hall
skus: [h200-sxm]
workloads:
  chat: {{catalog: deepseek-r1-8k1k, interactivity: 35}}
demand: {{load_curve: demand.csv}}
constraints: {{power_cap_mw: 10.0}}
objective: max_tokens
"""


def hall(tmp_path, level: float):
    """A 10 MW hall of H200 nodes (1.73 kW per GPU all-in) and a day of demand at ``level`` tokens/s."""
    rows = ["hour,chat"] + [f"{h},{level * (1.5 if h == 15 else 1.0)}" for h in range(24)]
    (tmp_path / "demand.csv").write_text("\n".join(rows) + "\n")
    path = tmp_path / "hall.yaml"
    path.write_text(HALL.format())
    return path


@pytest.mark.parametrize("level", [2e7, 1e9, 1e11, 1e13])
def test_max_tokens_fills_the_cap_at_any_demand_above_it(tmp_path, level):
    # 10 MW / (8 GPUs x 1.73 kW) = 722.5 -> 722 nodes, whatever the demand above what they serve
    plan = run_plan(load_scenario(hall(tmp_path, level)), explain=False)
    assert plan.status == "optimal"
    assert plan.fleet[0].units == 722 == int(10_000 / (8 * 1.73))
    thr = plan.fleet[0].throughput["chat"]
    assert plan.tokens_served == pytest.approx(722 * 8 * thr * 24 * 3600, rel=1e-9)
    assert plan.tokens_served + sum(plan.unserved_tokens.values()) == pytest.approx(plan.tokens_demanded, rel=1e-12)


def test_max_tokens_marginal_value_is_a_node_of_tokens(tmp_path):
    # +1 MW holds 72 more nodes (10.999 / 0.01384 = 794.7 -> 794): 72 nodes of tokens gained
    plan = run_plan(load_scenario(hall(tmp_path, 1e9)))
    power = next(c for c in plan.caps if c.name == "power_cap")
    assert power.binding and "power_cap" in plan.binding
    thr = plan.fleet[0].throughput["chat"]
    assert power.extra_tokens == pytest.approx(72 * 8 * thr * 24 * 3600, rel=1e-9)


def test_servable_max_tokens_has_no_tolerance_noise(runner):
    # the default scenario fits in 10 MW: nothing unserved, no gains below the tolerance
    result = runner.invoke(app, ["plan", "--objective", "max_tokens", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert all(v == 0 for v in doc["unserved_tokens"].values())
    assert doc["tokens_served"] == doc["tokens_demanded"]
    power = next(c for c in doc["caps"] if c["name"] == "power_cap")
    assert power["extra_tokens"] == 0
    # as many tokens for less money: still binding, by the second criterion
    assert power["binding"] and power["saving_usd"] > 0
    human = runner.invoke(app, ["plan", "--objective", "max_tokens"])
    assert "unserved" not in human.output and "more tokens" not in human.output


def test_default_min_cost_per_token_serves_everything_the_caps_allow():
    sf = load_scenario(None, {"objective": "min_cost_per_token"})
    problem = scenario_problem(sf)
    ratio = plan_fleet(problem, solver_options(sf.scenario), explain=False)
    cheapest = plan_fleet(problem.with_changes(objective="min_cost"), solver_options(sf.scenario), explain=False)
    # the default scenario is servable: the floor is the whole demand, so the plan is min_cost's
    assert ratio.tokens_served == ratio.tokens_demanded
    assert ratio.cost_per_million_tokens == pytest.approx(cheapest.cost_per_million_tokens, rel=2e-4)


def test_token_tolerance_is_the_gap_of_the_demand():
    problem = scenario_problem(load_scenario(None))
    assert token_tolerance(problem, SolverOptions()) == pytest.approx(1e-4 * float(problem.curve.tokens().sum()))
    assert np.isfinite(token_tolerance(problem, SolverOptions()))


def test_min_served_fraction_needs_its_objective(tmp_path, runner):
    result = runner.invoke(app, ["plan", "--set", "constraints.min_served_fraction=0.9"])
    assert result.exit_code == 2 and "min_cost_per_token" in result.output


def test_served_fraction_tradeoff_from_cli(runner):
    # 6 MW serves at most ~89 % of the default demand: floors above that are infeasible rows, not errors
    result = runner.invoke(app, ["plan", "--served-fraction", "0.5:0.9:0.2", "--power-cap-mw", "6", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["objective"] == "min_cost_per_token"
    rows = doc["tradeoff"]
    assert [r["served_fraction"] for r in rows] == pytest.approx([0.5, 0.7, 0.9])
    assert [r["status"] for r in rows] == ["optimal", "optimal", "infeasible"]
    for r in rows[:2]:
        assert r["served_share"] >= r["served_fraction"] * (1 - 1e-6)
    # serving more costs more per token here (the cheapest tokens are served first)
    assert rows[0]["cost_per_million_tokens"] < rows[1]["cost_per_million_tokens"]
    table = runner.invoke(app, ["plan", "--served-fraction", "0.5,0.7", "--power-cap-mw", "6"])
    assert table.exit_code == 0 and "share of demand served" in table.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--served-fraction", "1.5"], "not a share in (0, 1]"),
        (["--served-fraction", "0.9:0.5:0.1"], "below its start"),
        (["--served-fraction", "0.7", "--objective", "min_cost"], "service floor, not min_cost's"),
        (["--served-fraction", "0.5,0.7", "--out", "x"], "drop --out"),
    ],
)
def test_served_fraction_errors_name_the_flag(runner, args, message):
    result = runner.invoke(app, ["plan", *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_plan_documents_match_their_schema(runner):
    from helpers import assert_matches_schema

    for args in (
        ["plan", "--json"],
        ["plan", "--json", "--power-cap-mw", "3"],
        ["plan", "--json", "--objective", "max_tokens"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 3), result.output
        assert_matches_schema(json.loads(result.stdout), "plan")
    for kind in ("scenario", "plan", "buildout", "validation", "sweep"):
        shown = runner.invoke(app, ["schema", kind])
        assert shown.exit_code == 0 and json.loads(shown.stdout)["type"] == "object"
    assert json.loads(runner.invoke(app, ["schema"]).stdout) == json.loads(
        runner.invoke(app, ["schema", "scenario"]).stdout
    )
    bad = runner.invoke(app, ["schema", "plans"])
    assert bad.exit_code == 2 and "unknown document" in bad.output


def test_write_model_names_in_the_grammar_and_read_back(tmp_path, runner):
    import highspy

    from planner.milp.highs import silence_banner
    from planner.milp.modelfile import escape

    silence_banner()
    plan = json.loads(runner.invoke(app, ["plan", "--json", "--no-explain", "--exact"]).stdout)
    for suffix in ("mps", "lp"):
        path = tmp_path / f"m.{suffix}"
        result = runner.invoke(app, ["plan", "--write-model", str(path), "--no-explain"])
        assert result.exit_code == 0, result.output
        text = path.read_text()
        for name in (
            "units[h200-sxm]",
            "busy[gb300-nvl72,chat,15]",
            "capacity[b200-sxm,3]",
            "serve_demand[fast,0]",
            "power_cap",
        ):
            assert name in text
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        assert h.readModel(str(path)) == highspy.HighsStatus.kOk
        h.run()
        assert h.getInfo().objective_function_value == pytest.approx(plan["total_cost_usd"], rel=2e-4)
    # ids are escaped so that two can never give one name
    assert escape("a,b") == "a\\x2cb" and escape("a[1]") == "a\\x5b1\\x5d" and escape("x y") == "x\\x20y"
    assert escape("a\\x2cb") != escape("a,b")


def test_messages_are_text_not_markup_or_emoji(runner, tmp_path):
    # ":b:" is an emoji code and "[/]" closes a rich tag: both must reach the user as typed
    result = runner.invoke(app, ["plan", "--served-fraction", "a:b:step"])
    assert result.exit_code == 2 and "a:b:step" in result.output
    bad = tmp_path / "a[/]b.yaml"
    result = runner.invoke(app, ["plan", str(bad)])
    assert result.exit_code == 2 and "a[/]b.yaml" in result.output and "Traceback" not in result.output
