"""The Python API (`import planner`): thin, typed, keyword arguments, no printing, DataFrames."""

from __future__ import annotations

import pandas as pd
import pytest

import planner
from planner.errors import ScenarioError


def test_plan_prints_nothing_and_returns_frames(capfd):
    result = planner.plan("default", overrides={"constraints.power_cap_mw": 12})
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # not even HiGHS' C-level banner
    assert isinstance(result, planner.PlanResult) and result.status == "optimal"
    for frame in (result.fleet, result.caps, result.dispatch, result.to_frame()):
        assert isinstance(frame, pd.DataFrame) and len(frame)
    assert result.fleet["power_mw"].sum() == pytest.approx(result.power_mw)
    assert result.to_dict()["cost_per_million_tokens"] == result.cost_per_million_tokens
    busy = result.dispatch.groupby(["sku", "hour"])["busy_gpus_at_peak"].sum().groupby("sku").max()
    gpus = result.fleet.set_index("sku")["gpus"]
    assert (busy <= gpus.reindex(busy.index) + 1e-6).all()  # never more GPUs busy than the fleet has


def test_overrides_stack_on_a_loaded_scenario():
    scn = planner.load_scenario("default", overrides={"constraints.power_cap_mw": 12})
    exact = planner.plan(scn, exact=True, explain=False)
    assert exact.power_cap_mw == 12 and exact.aggregation["mode"] == "exact"
    more = planner.load_scenario(scn, overrides={"constraints.max_utilization": 0.8})
    both = planner.load_scenario(
        "default", overrides={"constraints.power_cap_mw": 12, "constraints.max_utilization": 0.8}
    )
    assert more.scenario == both.scenario


def test_bad_input_raises_the_cli_message():
    with pytest.raises(ScenarioError, match="no-such"):
        planner.plan("no-such")
    with pytest.raises(ScenarioError, match="mode 'sideways'"):
        planner.buildout(mode="sideways")
    with pytest.raises(ScenarioError, match="sweep takes a scenario file"):
        planner.sweep(planner.load_scenario("default"), params={"constraints.power_cap_mw": [12]})


def test_subpackages_keep_working_beside_the_functions():
    import planner.validate.sim

    assert callable(planner.validate) and planner.validate.sim.ValidationOptions().windows == 2
    import planner.sweep.grid

    assert planner.sweep.grid.parse_values is not None
    assert planner.buildout.__doc__ and "buildout" in repr(planner.buildout)


def test_demand_frames():
    demand = planner.simulate_demand()  # the default scenario reads its CSV
    frame = demand.to_frame()
    assert list(frame.columns[:3]) == ["hour", "chat", "fast"] and len(frame) == 168
    assert set(demand.summary["workload"]) == {"chat", "fast"}
    with pytest.raises(ScenarioError, match="apply to generated demand"):
        planner.simulate_demand(seed=3)


def test_validate_takes_the_warm_up_as_the_cli_does(runner, monkeypatch):
    """planner.validate(warmup_s=...) and `planner validate --warmup-s` hand the simulation the same options."""
    import planner.validate.run as run
    from planner.cli.main import app

    seen = []

    class Stop(Exception):
        pass

    def record(sf, plan, options, burstiness=None):
        seen.append(options)
        raise Stop

    monkeypatch.setattr(run, "validate_scenario", record)
    with pytest.raises(Stop):
        planner.validate("chat-and-code", windows=1, window_s=0.5, warmup_s=0.25)
    runner.invoke(app, ["validate", "chat-and-code", "--windows", "1", "--window-s", "0.5", "--warmup-s", "0.25"])
    api, cli = seen
    assert api.warmup_s == cli.warmup_s == 0.25 and api == cli
