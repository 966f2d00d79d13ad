"""planner.milp: the names registry (labels, grammar names, duals, model files) and the package's layering."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import highspy
import pytest
import yaml

from planner.cli.main import app
from planner.milp.formulation import build_fleet_model, build_model
from planner.milp.highs import silence_banner
from planner.milp.modelfile import model_names, write_model
from planner.milp.names import Names
from planner.milp.solve import SolverOptions, highs_lp, solve
from planner.pipeline import scenario_curve, scenario_problem
from planner.scenario.load import load_scenario
from planner.scenario.shipped import shipped_names

ROOT = Path(__file__).resolve().parent.parent


def _read_back(path: Path) -> float:
    """The optimum HiGHS finds in a model file it reads itself (NaN: infeasible)."""
    silence_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 1e-6)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        return float("nan")
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value


def _models(name: str):
    """The plan model of a shipped scenario, and its buildout model when it has a buildout section."""
    sf = load_scenario(name)
    out = [("plan", build_fleet_model(scenario_problem(sf)))]
    if sf.scenario.buildout is not None:
        from planner.buildout.problem import build_buildout_problem

        out.append(("buildout", build_model(build_buildout_problem(sf, scenario_curve(sf)))))
    return out


def _same_model(path: Path, model) -> None:
    """The model HiGHS reads from ``path`` is the one ``solve`` hands it, number for number."""
    import numpy as np
    from scipy.sparse import csr_matrix

    silence_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    got, (want, _, is_mip) = h.getLp(), highs_lp(model)
    assert (got.num_col_, got.num_row_) == (want.num_col_, want.num_row_)
    for key in ("col_cost_", "col_lower_", "col_upper_", "row_lower_", "row_upper_"):
        assert np.array_equal(np.asarray(getattr(got, key)), np.asarray(getattr(want, key))), key
    assert got.offset_ == pytest.approx(want.offset_, rel=1e-15, abs=1e-9)
    integers = [int(v) for v in got.integrality_] if len(got.integrality_) else [0] * got.num_col_
    assert integers == ([int(v) for v in want.integrality_] if is_mip else [0] * want.num_col_)

    def matrix(lp):
        m = lp.a_matrix_
        shape = (lp.num_row_, lp.num_col_)
        if m.format_ == highspy.MatrixFormat.kColwise:
            from scipy.sparse import csc_matrix

            return csc_matrix((m.value_, m.index_, m.start_), shape=shape).tocsr()
        return csr_matrix((m.value_, m.index_, m.start_), shape=shape)

    assert (matrix(got) != matrix(want)).nnz == 0


@pytest.mark.parametrize("name", shipped_names())
def test_mps_of_every_shipped_scenario_is_the_model_solved(name, tmp_path):
    # every column and row has one grammar name, no two share one, and HiGHS reads back the very model
    for kind, model in _models(name):
        path = tmp_path / f"{kind}.mps"
        text = write_model(model, path)
        path.write_text(text)
        rows = text.split("\nROWS\n")[1].split("\nCOLUMNS\n")[0].splitlines()
        assert len({r.split()[1] for r in rows}) == len(rows)
        names = model_names(model.period_model if kind == "plan" else model)
        assert len(set(names.values())) == len(names) == len(model.variables) + len(model.prob.constraints())
        _same_model(path, model)


@pytest.mark.parametrize("name", ["default", "chat-and-code", "qwen3-estimate"])
def test_mps_reads_back_to_the_same_optimum(name, tmp_path):
    ((_, model),) = _models(name)
    res = solve(model, SolverOptions())
    path = tmp_path / "m.mps"
    path.write_text(write_model(model, path))
    assert _read_back(path) == pytest.approx(res.objective, rel=2e-4)


def test_two_sites_plan_writes_mps_from_the_cli_and_every_cap_has_its_dual(tmp_path, runner):
    path = tmp_path / "x.mps"
    wrote = runner.invoke(app, ["plan", "two-sites", "--write-model", str(path), "--no-explain", "--exact"])
    assert wrote.exit_code == 0, wrote.output
    text = path.read_text()
    for name in ("site_power[hall-a]", "liquid_cooling[colo-b]", "rack_positions[hall-a]", "racks[hall-a,gb300-rack]"):
        assert f" {name} " in text or f" {name}\n" in text, name
    doc = json.loads(runner.invoke(app, ["plan", "two-sites", "--json", "--exact"]).stdout)
    assert _read_back(path) == pytest.approx(doc["total_cost_usd"], rel=2e-4)
    assert doc["caps"] and all(c["lp_relaxation_dual"] is not None for c in doc["caps"])


@pytest.mark.parametrize(
    "name",
    [n for n in shipped_names() if n != "default-year" and load_scenario(n).scenario.buildout is None] + ["two-sites"],
)
def test_every_cap_of_every_shipped_plan_has_its_lp_relaxation_dual(name):
    from planner.optimize.run import lp_relaxation_duals

    problem = scenario_problem(load_scenario(name))
    model = build_fleet_model(problem)
    duals = lp_relaxation_duals(problem, SolverOptions())
    assert set(duals) == {c.name for c in model.caps}


def _sites_scenario(tmp_path: Path, site_ids: tuple[str, str], sku_ids: tuple[str, str]) -> Path:
    """Two sites and two inline SKUs placed at both, each site capped in power, racks and liquid."""
    doc = {
        "name": "ids",
        "sites": [
            {"id": s, "power_cap_mw": 3.0, "rack_positions": 40, "max_kw_per_rack": 140, "liquid_cooling_mw": 2.0}
            for s in site_ids
        ],
        "skus": [
            {
                "id": k,
                "gpus_per_unit": 8,
                "power_kw_per_gpu": 1.2,
                "idle_power_kw_per_gpu": 0.4,
                "units_per_rack": 4,
                "cooling": "liquid",
                "throughput": {"chat": 900.0 + 100 * i},
                "procurement": [{"kind": "owned", "capex_usd_per_gpu": 30000, "life_years": 5}],
            }
            for i, k in enumerate(sku_ids)
        ],
        "workloads": {"chat": {}},
        "demand": {"load_curve": "curve.csv"},
    }
    (tmp_path / "curve.csv").write_text("hour,chat\n0,200000\n1,500000\n2,350000\n")
    path = tmp_path / "ids.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("sites", "skus"),
    [(("hall-a", "hall_a"), ("h200-x", "h200.x")), (("halla", "hallb"), ("hnode", "bnode"))],
    ids=["ids-differing-by-punctuation", "hyphenless-ids"],
)
def test_names_never_collide_whatever_the_ids(tmp_path, sites, skus):
    path = _sites_scenario(tmp_path, sites, skus)
    problem = scenario_problem(load_scenario(path))
    model = build_fleet_model(problem)
    names = model_names(model.period_model)
    labels = [v.name for v in model.variables] + [c.name for c in model.prob.constraints()]
    assert len(set(labels)) == len(labels) == len(names) == len(set(names.values()))
    grammar = set(names.values())
    for site in sites:
        assert {f"site_power[{site}]", f"rack_positions[{site}]", f"liquid_cooling[{site}]"} <= grammar
    res = solve(model, SolverOptions())
    out = tmp_path / "m.mps"
    out.write_text(write_model(model, out))
    assert _read_back(out) == pytest.approx(res.objective, rel=2e-4)
    from planner.optimize.run import lp_relaxation_duals

    assert set(lp_relaxation_duals(problem, SolverOptions())) == {c.name for c in model.caps}


def test_registry_refuses_a_name_twice_and_names_periods():
    names = Names.of(["a-1", "a 1"], ["chat"], [], ["2026Q1", "2026Q2"])
    assert names.skus == ("a-1", "a\\x201")
    label = names.add("busy", (0, 0, 5), (names.skus[0], "chat", "5"), period=1)
    assert label == "busy_0_0_5_1" and names.grammar(label) == "busy[a-1,chat,2026Q2,5]"
    assert names.grammar(names.add("units", (1,), (names.skus[1],), period=0)) == "units[a\\x201,2026Q1]"
    assert names.label("busy", (0, 0, 5), period=1) == label
    with pytest.raises(ValueError, match="twice"):
        names.add("busy", (0, 0, 5), ("x",), period=1)
    with pytest.raises(ValueError, match="integer indices"):
        names.add("busy", ("0",), ())


@pytest.mark.parametrize("periods", [[], ["2026Q1"], ["2026Q1", "2026Q2"]])
def test_add_slices_registers_what_add_would(periods):
    """``add_slices`` (all slices at once) gives the labels, grammar and refusals of ``add`` per slice."""
    one, many = (Names.of(["a-1", "b 2"], ["chat"], [], periods) for _ in range(2))
    period = 0 if periods else None
    for s in range(2):
        ids = (one.skus[s], "chat")
        each = [one.add("busy", (s, 0, t), (*ids, str(t)), period=period) for t in range(4)]
        assert many.add_slices("busy", (s, 0), ids, 4, period=period) == each
        assert [many.grammar(x) for x in each] == [one.grammar(x) for x in each]
        assert [many.label("busy", (s, 0, t), period=period) for t in range(4)] == each
    with pytest.raises(ValueError, match="twice"):
        many.add_slices("busy", (1, 0), (many.skus[1], "chat"), 2, period=period)
    with pytest.raises(ValueError, match="twice"):
        many.add("busy", (0, 0, 3), ("x",), period=period)
    with pytest.raises(ValueError, match="not indexed by slice"):
        many.add_slices("units", (0,), (many.skus[0],), 2)


def test_no_import_cycles_and_the_layers_hold():
    tool = ROOT.parent / "shared" / "tools" / "import_cycles.py"
    if tool.exists():
        out = subprocess.run([sys.executable, str(tool), str(ROOT / "planner")], capture_output=True, text=True)
        assert out.returncode == 0 and out.stdout.strip().endswith("import cycles: 0 (modules in cycles: 0)"), (
            out.stdout
        )
    # milp imports only the demand curve, economics and errors (and itself)
    import ast

    for path in (ROOT / "planner" / "milp").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("planner"):
                assert node.module.startswith(
                    ("planner.milp", "planner.demand.curve", "planner.economics", "planner.errors")
                ), (path.name, node.module)


def test_a_value_at_its_bound_is_never_a_violation_and_the_tolerance_follows_the_row_scale():
    import numpy as np

    from planner.milp.evaluate import Dispatch, violations

    from helpers import problem, sku

    # a 2,000-GPU quota of 8-GPU units is 250 units: a continuous column the solver fills to 250 (to
    # within its tolerance) is at its bound, not above it
    p = problem([sku("od", max_units=250.0, thr=1.0)], [[2000.0]])
    busy = np.array([[[2000.0 * (1 + 4e-10)]]])
    for n in (250.0, 250.0 * (1 + 1e-9), 250.0 + 1e-7):
        assert violations(p, np.array([n]), Dispatch(busy, np.zeros((1, 1)))) == [], n
    # beyond the tolerance at the row's scale it is one
    over = violations(p, np.array([250.0 * (1 + 1e-5)]), Dispatch(busy, np.zeros((1, 1))))
    assert any("above its supply limit 250" in v for v in over), over
    # and so is a small excess on a small bound (the scale is at least 1)
    small = problem([sku("s", max_units=2.0, thr=1.0)], [[8.0]])
    assert violations(small, np.array([2.01]), Dispatch(np.array([[[8.0]]]), np.zeros((1, 1))))


def test_fleet_capacity_is_what_the_fixed_fleet_dispatch_can_serve():
    # the chart's capacity (planner.milp.aggregate.fleet_capacity) and the fixed-fleet dispatch are one model:
    # alpha x the slice's mix is servable, 0.1 % more is not
    from dataclasses import replace

    import numpy as np

    from planner.milp.aggregate import dispatch_fleet, fleet_capacity
    from planner.milp.solve import SolverOptions
    from planner.optimize.run import plan_fleet

    problem = scenario_problem(load_scenario("chat-and-code"))
    options = SolverOptions()
    plan = plan_fleet(problem, options, explain=False)
    units = np.array([f.units for f in plan.fleet], dtype=float)
    capacity = fleet_capacity(problem, units, options)
    c = problem.curve
    assert np.all(capacity >= c.peak.sum(axis=0) * (1 - 1e-9))  # the plan serves its own peaks
    for t in (0, int(np.argmax(c.peak.sum(axis=0)))):
        mix = c.peak[:, t] / c.peak[:, t].sum()
        for scale, servable in ((1.0 - 1e-6, True), (1.001, False)):
            demand = (mix * capacity[t] * scale)[:, None]
            one = replace(
                problem,
                curve=replace(
                    c, start_hours=c.start_hours[:1], slice_hours=c.slice_hours[:1], mean=demand, peak=demand
                ),
            )
            assert (dispatch_fleet(one, units, options) is not None) is servable, (t, scale)


def test_the_one_period_view_and_its_cap_table_are_built_once_per_problem():
    from dataclasses import replace

    from planner.milp.formulation import caps, single_period

    from helpers import problem, sku

    p = problem([sku("a", kw=1.0), sku("b", kw=0.5)], [800.0, 1200.0], power_mw=6.0, budget=100.0)
    one = single_period(p)
    assert single_period(p) is one
    table = caps(one)
    table.append("not a cap")  # a caller's list is its own
    again = caps(one)
    assert [c.name for c in again] == ["power_cap", "budget_cap"] and again[0] is table[0]
    assert [c.limit for c in caps(one, window=range(1))] == [c.limit for c in again]  # a window: built anew
    # a changed problem is a new object: its own view and table
    tighter = replace(p, power_cap_mw=3.0)
    assert single_period(tighter) is not one
    assert caps(single_period(tighter))[0].limit == 3.0 and caps(one)[0].limit == 6.0
