"""Hostile input: every class maps to exit 2 with a message naming the input, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from planner.cli.main import app
from planner.errors import ScenarioError

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def refused(runner, args: list[str], *words: str) -> str:
    r = runner.invoke(app, args)
    text = r.stderr if r.stderr else r.output
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)
    for w in words:
        assert w in text, text
    return text


def scenario(tmp_path: Path, name: str, edit) -> Path:
    data = yaml.safe_load((SCENARIOS / name).read_text())
    edit(data)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    for f in ("default-demand.csv",):
        (tmp_path / f).write_text((SCENARIOS / f).read_text())
    (tmp_path / "traces").mkdir(exist_ok=True)
    for f in (SCENARIOS / "traces").glob("*.csv"):
        (tmp_path / "traces" / f.name).write_text(f.read_text())
    return path


def test_unreadable_yaml(runner, tmp_path):
    text = (SCENARIOS / "buildout.yaml").read_text().replace("start: 2026-07-01", "start: 2026-02-30")
    (tmp_path / "b.yaml").write_text(text)
    (tmp_path / "default-demand.csv").write_text((SCENARIOS / "default-demand.csv").read_text())
    refused(runner, ["buildout", str(tmp_path / "b.yaml")], "'2026-02-30' is not a date", "line")
    (tmp_path / "deep.yaml").write_text("name: x\nskus: " + "[" * 20000 + "]" * 20000 + "\n")
    refused(runner, ["plan", str(tmp_path / "deep.yaml")], "nested too deeply")
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    refused(runner, ["validate", "--plan", str(tmp_path / "deep.json")], "nested too deeply")


def test_markup_in_user_text_is_printed_as_is(runner):
    text = refused(runner, ["plan", "a[/]b[bold].yaml"], "a[/]b[bold].yaml")
    assert "MarkupError" not in text


@pytest.mark.parametrize(
    "address, words",
    [
        ("foo://x:1", ["unknown scheme 'foo://'"]),
        ("tcp://localhost", ["HOST:PORT"]),
        ("tcp://127.0.0.1:1", ["cannot connect"]),
    ],
)
def test_bad_dask_schedulers(runner, address, words):
    refused(
        runner, ["sweep", "-p", "constraints.power_cap_mw=10,11", "--executor", "dask", "--scheduler", address], *words
    )


def test_work_too_large_is_refused_with_an_estimate(runner, tmp_path):
    big = scenario(tmp_path, "chat-and-code.yaml", lambda d: d["demand"].update(horizon_days=36_500_000))
    refused(runner, ["demand", str(big)], "slices", "above the limit of 1,000,000")
    refused(
        runner,
        ["demand", str(SCENARIOS / "chat-and-code.yaml"), "--replicas", "1000000"],
        "peak windows",
        "80,640,000,000",
    )
    huge_trace = scenario(tmp_path, "chat-and-code.yaml", lambda d: d["demand"]["workloads"]["code"].update(scale=1e9))
    refused(runner, ["demand", str(huge_trace)], "requests replayed", "lower scale")
    refused(runner, ["validate", "--windows", "10000"], "the span has 168 slices")
    refused(runner, ["validate", "--window-s", "1e9"], "request-level window(s) would draw")
    refused(runner, ["plan", "--set", "demand.load_curve=/dev/zero"], "larger than 256 MB")
    refused(runner, ["sweep", "-p", "constraints.power_cap_mw=10:1e300:1"], "at most 1,000,000 per parameter")


@pytest.mark.parametrize(
    "override, words",
    [
        ("constraints.power_cap_mw=1e308", ["constraints.power_cap_mw", "far outside any real range"]),
        ("skus.h200-sxm.throughput.chat=1e308", ["skus[0].throughput.chat", "less than or equal to 1000000000"]),
        ("skus.h200-sxm.cost_per_gpu_hour=1e300", ["skus[0].cost_per_gpu_hour", "less than or equal to 1000000"]),
    ],
)
def test_numbers_beyond_any_real_range_never_reach_the_solver(runner, override, words):
    refused(runner, ["plan", "--no-explain", "--set", override], *words)


def test_a_model_number_beyond_range_names_its_row(runner, tmp_path):
    """Demand of 1e20 tokens/s passes every field check; the model refuses it, naming the row."""
    (tmp_path / "huge.csv").write_text("hour,chat,fast\n0,1e20,1\n1,1e20,1\n")
    refused(
        runner, ["plan", "--no-explain", "--set", f"demand.load_curve={tmp_path / 'huge.csv'}"], "serve_demand[chat,0]"
    )


def test_every_override_path_with_hostile_values_exits_cleanly(runner):
    """Each path `--set` takes on the default scenario, with values of the classes that used to
    crash (huge, negative, the wrong type, an impossible date): exit 0, 2, 3 or 4, never 1."""
    from planner.scenario.load import load_scenario
    from planner.sweep.grid import valid_paths

    bad = []
    for path in valid_paths(load_scenario(None).scenario):
        command = ["buildout"] if path.startswith("buildout.") else ["plan", "--no-explain"]
        for value in ("1e308", "-1", "[]", "2026-02-30"):
            r = runner.invoke(app, [*command, "--set", f"{path}={value}"])
            if r.exit_code not in (0, 2, 3, 4) or (r.exception is not None and not isinstance(r.exception, SystemExit)):
                bad.append((path, value, r.exit_code, repr(r.exception)[:120]))
    assert not bad


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "--tier", "owned", "--pue", "inf"],
        ["compare", "--tier", "owned", "--rate", "1e308"],
        ["compare", "--tier", "owned", "--electricity", "inf"],
        ["compare", "--tier", "owned", "--life-years", "nan"],
        ["sweep", "-p", "constraints.power_cap_mw=10,11", "--timeout", "inf"],
    ],
)
def test_flags_beyond_any_real_range_are_usage_errors(runner, args):
    refused(runner, args)


def test_library_messages_name_options_and_the_cli_names_its_flags(runner):
    # the library says `window_s`; the same mistake on the command line says --window-s
    from planner.cli.flags import cli_message
    from planner.validate.loop import validate_loop

    with pytest.raises(ScenarioError) as err:
        validate_loop(None, {}, None, None, slo=1.5)
    assert "`slo` 1.5" in str(err.value) and "--slo" not in str(err.value)
    assert cli_message(str(err.value)).startswith("--slo 1.5")
    assert cli_message("raise `solver.time_limit_s`; `unknown_name` stays") == (
        "raise solver.time_limit_s (--time-limit, or --set solver.time_limit_s=SECONDS); `unknown_name` stays"
    )
    assert (
        cli_message("use time aggregation (`solver.time_aggregation: auto`)") == "use time aggregation (drop --exact)"
    )
    r = runner.invoke(app, ["validate", "--windows", "100000", "--json"])
    assert r.exit_code == 2 and "--windows 100000" in r.stderr and "`windows`" not in r.stderr


def test_the_solver_options_default_to_the_scenario_schema_defaults():
    from planner.milp.solve import SolverOptions
    from planner.optimize.problem import solver_options
    from planner.scenario.load import load_scenario
    from planner.scenario.schema import Solver

    scn = load_scenario(None).scenario
    assert scn.solver == Solver()  # the default scenario has no solver: section
    assert solver_options(scn) == SolverOptions()
