"""The Python API: ``import planner`` and plan from a notebook, with pandas DataFrames.

    import planner

    scn = planner.load_scenario("default")                # a file, or a shipped scenario's name
    result = planner.plan(scn, overrides={"constraints.power_cap_mw": 12})
    result.cost_per_million_tokens                         # $ per million tokens
    result.fleet                                           # DataFrame: one row per SKU
    result.caps                                            # DataFrame: each cap, its use and worth
    result.dispatch                                        # DataFrame: per slice, workload and SKU

Every function is thin (the library does the work), takes keyword arguments, prints nothing
and raises ``planner.errors.PlannerError`` (``ScenarioError`` for bad input) with the same
messages the CLI prints. Units follow the field names: ``_mw`` MW, ``_usd`` $, ``_per_hour``
per hour, ``tokens_per_s`` tokens/s, shares in [0, 1]. Each result has ``to_dict()`` (the
document the CLI's ``--json`` prints) and ``to_frame()`` (its main table); attributes the
result does not define are read from the underlying object (``result.status``).

Heavy modules (pandas, PuLP, SimPy, Dask) load on first call, not on ``import planner``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pandas as pd

    from planner.buildout.run import BuildoutPlan
    from planner.demand.curve import LoadCurve
    from planner.milp.problem import FleetProblem
    from planner.optimize.plan import FleetPlan
    from planner.scenario.load import Overrides, ScenarioFile
    from planner.sweep.grid import SweepSpec
    from planner.validate.metrics import FleetSimResult


class _Wraps:
    """Attributes a result does not define are read from the object it wraps (``_wraps``)."""

    _wraps: ClassVar[str]

    def __getattr__(self, name: str) -> Any:  # result.status, result.power_mw, ...
        if name.startswith("__") or name == "_wraps":
            raise AttributeError(name)
        return getattr(object.__getattribute__(self, self._wraps), name)


def _frame(rows: Sequence[Mapping[str, object]], columns: list[str] | None = None) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


def load_scenario(scenario: ScenarioFile | str | Path | None = None, *, overrides: Overrides | None = None):
    """A validated scenario: a YAML file, a shipped scenario's name (``planner scenarios``), or
    None for the embedded default. ``overrides`` set fields by dotted path, as ``--set`` does:
    ``{"constraints.power_cap_mw": 12, "skus.gb300-nvl72.cost_per_gpu_hour": 2.4}``."""
    from planner.scenario.load import ScenarioFile, with_overrides
    from planner.scenario.load import load_scenario as load

    if isinstance(scenario, ScenarioFile):
        return with_overrides(scenario, overrides or {})
    return load(scenario, overrides)


# ------------------------------------------------------------------ plan


@dataclass(frozen=True)
class PlanResult(_Wraps):
    """A fleet plan: ``plan`` (FleetPlan), the ``problem`` it solved and its ``scenario``."""

    plan: FleetPlan
    problem: FleetProblem
    scenario: ScenarioFile

    _wraps: ClassVar[str] = "plan"

    @property
    def fleet(self) -> pd.DataFrame:
        """One row per SKU column: units, GPUs, power_mw [MW], cost_usd_per_hour [$/h], capex_usd [$],
        cost_per_million_tokens [$/M tokens], token_share and mean_utilization [0-1] (the fleet.csv columns)."""
        from planner.optimize.plan import FLEET_COLUMNS

        return _frame([{k: getattr(f, k) for k in FLEET_COLUMNS} for f in self.plan.fleet], FLEET_COLUMNS)

    @property
    def caps(self) -> pd.DataFrame:
        """One row per cap: limit, used (in its unit), binding, and what relaxing it by ``step`` saves
        (saving_usd over the span [$], saving_usd_per_year [$/year per unit], per million tokens)."""
        from dataclasses import asdict

        return _frame([asdict(c) for c in self.plan.caps])

    @property
    def dispatch(self) -> pd.DataFrame:
        """Long form: one row per slice, workload and SKU that serves it (the dispatch.csv columns)."""
        from planner.optimize.plan import dispatch_rows

        return _frame(dispatch_rows(self.problem, self.plan))

    def to_frame(self) -> pd.DataFrame:
        """The fleet table (``.fleet``)."""
        return self.fleet

    def to_dict(self) -> dict[str, Any]:
        """The plan document (``planner plan --json``)."""
        return self.plan.to_dict()

    def recommendation(self) -> bytes:
        """recommendation.xlsx of this plan, as bytes (write them to a file)."""
        from planner.report.workbook import plan_workbook

        return plan_workbook(self.scenario, self.problem, self.plan)


def plan(
    scenario: ScenarioFile | str | Path | None = None,
    *,
    overrides: Overrides | None = None,
    explain: bool = True,
    exact: bool = False,
    throughput_band: str | None = None,
) -> PlanResult:
    """Plan the fleet with the lowest cost per token inside the scenario's caps (``planner plan``).

    ``explain``: marginal values of the caps and single-SKU fleets (a few more solves);
    ``exact``: no time aggregation; ``throughput_band``: low | mid | high for estimated throughput."""
    from planner.optimize.bands import with_throughput_band
    from planner.pipeline import planned, scenario_problem

    o = dict(overrides or {})
    if exact:
        o["solver.time_aggregation"] = "off"
    sf = load_scenario(scenario, overrides=o)
    if throughput_band is not None:
        sf = with_throughput_band(sf, throughput_band)
    problem = scenario_problem(sf)
    return PlanResult(planned(sf, problem, explain=explain), problem, sf)


# ------------------------------------------------------------------ demand


@dataclass(frozen=True)
class DemandResult(_Wraps):
    """A load curve: ``curve`` (LoadCurve: tokens/s per workload per slice, mean and peak)."""

    curve: LoadCurve
    scenario: ScenarioFile

    _wraps: ClassVar[str] = "curve"

    def to_frame(self) -> pd.DataFrame:
        """One row per slice: hour [h from the start], then per workload the mean and the peak
        (``<workload>.peak``) and any bands (``.p50``, ``.p95``, ``.p99``) [tokens/s]; the CSV's columns."""
        import io

        import pandas as pd

        from planner.demand.curve import load_curve_csv

        return pd.read_csv(io.StringIO(load_curve_csv(self.curve)))

    @property
    def summary(self) -> pd.DataFrame:
        """Per workload: mean and peak tokens/s, peak/mean, total tokens over the span."""
        from planner.demand.curve import curve_summary

        return _frame(curve_summary(self.curve))

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.scenario.name,
            "seed": self.curve.seed,
            "slices": len(self.curve.start_hours),
            "span_hours": self.curve.span_hours,
            "workloads": self.summary.to_dict("records"),
        }


def simulate_demand(
    scenario: ScenarioFile | str | Path | None = None,
    *,
    seed: int | None = None,
    replicas: int | None = None,
) -> DemandResult:
    """The scenario's demand as a load curve (``planner demand``): generated (``seed``, ``replicas``
    override the scenario's) or read from its load_curve CSV. A file with only a ``demand:``
    section will do."""
    from planner.demand.simulate import run_scenario_demand
    from planner.errors import ScenarioError
    from planner.pipeline import scenario_curve
    from planner.scenario.load import ScenarioFile, load_demand_file

    sf = scenario if isinstance(scenario, ScenarioFile) else load_demand_file(scenario)
    if sf.scenario.demand.load_curve:
        if seed is not None or replicas is not None:
            raise ScenarioError(f"{sf.path}: seed and replicas apply to generated demand; this one reads a CSV")
        return DemandResult(scenario_curve(sf), sf)
    return DemandResult(run_scenario_demand(sf, seed=seed, replicas=replicas).curve, sf)


# ------------------------------------------------------------------ validate


@dataclass(frozen=True)
class ValidationResult(_Wraps):
    """The fleet simulated against the demand: ``result`` (FleetSimResult) and the plan checked."""

    result: FleetSimResult
    plan: FleetPlan
    problem: FleetProblem

    _wraps: ClassVar[str] = "result"

    @property
    def fleet(self) -> pd.DataFrame:
        """Per SKU: utilisation [0-1], simulated and expected availability [0-1], failures."""
        r = self.result
        rows = []
        for sku, u in r.utilization.items():
            a = r.availability.get(sku) or {}
            rows.append(
                {
                    "sku": sku,
                    "utilization": u,
                    "availability_simulated": a.get("simulated"),
                    "availability_expected": a.get("expected"),
                    "failures": r.reliability.get(sku, {}).get("failures"),
                }
            )
        return _frame(rows)

    def to_frame(self) -> pd.DataFrame:
        """Per slice: hour, SLO attainment, tokens served, dropped and backlog, GPUs down per SKU."""
        return _frame(self.result.slice_rows())

    def to_dict(self) -> dict[str, Any]:
        """The validation document (``planner validate --json``)."""
        return self.result.to_dict()


def validate(
    scenario: ScenarioFile | str | Path | None = None,
    *,
    plan: PlanResult | str | Path | None = None,
    seed: int | None = None,
    failures: bool = True,
    router: str = "plan",
    windows: int = 2,
    window_s: float = 60.0,
    warmup_s: float = 30.0,
    burstiness: float | None = None,
) -> ValidationResult:
    """Simulate a plan's fleet against the scenario's demand with queues and failures
    (``planner validate``). ``plan``: a PlanResult, a plan.json path, or None to plan now;
    ``seed`` defaults to the scenario's demand seed; ``window_s``, ``warmup_s`` [s] as
    ``--window-s``, ``--warmup-s``."""
    from planner.validate.loop import scenario_seed
    from planner.validate.run import simulate_plan, validate_scenario
    from planner.validate.sim import ValidationOptions

    if isinstance(plan, PlanResult):
        sf = plan.scenario if scenario is None else load_scenario(scenario)
    else:
        sf = load_scenario(scenario)
    options = ValidationOptions(
        seed=scenario_seed(sf) if seed is None else seed,
        router=router,
        failures=failures,
        windows=windows,
        window_s=window_s,
        warmup_s=warmup_s,
    )
    if isinstance(plan, PlanResult):
        result = simulate_plan(sf, plan.problem, plan.plan, options, burstiness=burstiness)
        return ValidationResult(result, plan.plan, plan.problem)
    problem, fleet_plan, result = validate_scenario(
        sf, Path(plan) if plan is not None else None, options, burstiness=burstiness
    )
    return ValidationResult(result, fleet_plan, problem)


# ------------------------------------------------------------------ buildout


@dataclass(frozen=True)
class BuildoutResult(_Wraps):
    """A multi-period buildout: ``plan`` (BuildoutPlan), its ``problem`` and ``scenario``."""

    plan: BuildoutPlan
    problem: Any
    scenario: ScenarioFile

    _wraps: ClassVar[str] = "plan"

    @property
    def fleet(self) -> pd.DataFrame:
        """Long form: one row per period and SKU: installed, gpus, bought, retired, token_share (schedule.csv)."""
        from planner.buildout.report import SCHEDULE_COLUMNS, schedule_rows

        return _frame(schedule_rows(self.plan), SCHEDULE_COLUMNS)

    @property
    def periods(self) -> pd.DataFrame:
        """One row per period: power_mw [MW], capex_usd and cost_usd [$], tokens, cost per million tokens."""
        from planner.buildout.report import PERIOD_COLUMNS, period_rows

        return _frame(period_rows(self.plan), PERIOD_COLUMNS)

    @property
    def caps(self) -> pd.DataFrame:
        """Per period: each cap's limit, use and whether it is at its limit."""
        from planner.report.workbook import buildout_cap_rows

        return _frame(buildout_cap_rows(self.plan))

    def to_frame(self) -> pd.DataFrame:
        """The per-period table (``.periods``)."""
        return self.periods

    def to_dict(self) -> dict[str, Any]:
        """The buildout document (``planner buildout --json``)."""
        return self.plan.to_dict()

    def recommendation(self) -> bytes:
        """recommendation.xlsx of this buildout, as bytes."""
        from planner.report.workbook import buildout_workbook

        return buildout_workbook(self.scenario, [s.sku for s in self.problem.skus], self.plan, sites=self.problem.sites)


def buildout(
    scenario: ScenarioFile | str | Path | None = None,
    *,
    overrides: Overrides | None = None,
    mode: str | None = None,
    compare_myopia: bool = False,
) -> BuildoutResult:
    """What to buy each period (``planner buildout``); default: the shipped buildout scenario.
    ``mode``: perfect_foresight | myopic (default: the scenario's)."""
    from planner.buildout.run import SOLVERS, buildout_problem_from, default_buildout_path, plan_buildout
    from planner.errors import ScenarioError
    from planner.optimize.problem import solver_options

    if mode is not None and mode not in SOLVERS:
        raise ScenarioError(f"mode '{mode}': use {' or '.join(SOLVERS)}")
    sf = load_scenario(scenario if scenario is not None else default_buildout_path(), overrides=overrides)
    problem = buildout_problem_from(sf)
    return BuildoutResult(
        plan_buildout(problem, solver_options(sf.scenario), mode, compare_myopia=compare_myopia), problem, sf
    )


# ------------------------------------------------------------------ sweep


@dataclass(frozen=True)
class SweepResult:
    """A sweep: ``table`` (one row per point: the swept values, status, cost_per_million_tokens,
    power_mw, run_rate_usd_per_hour, units.<sku>, ...) and its ``spec``."""

    table: pd.DataFrame
    spec: SweepSpec

    def to_frame(self) -> pd.DataFrame:
        return self.table

    @property
    def fleet(self) -> pd.DataFrame:
        """Units per SKU at each point (the ``units.<sku>`` columns, with the swept values)."""
        cols = [*self.spec.paths, "status", *[c for c in self.table.columns if c.startswith("units.")]]
        return self.table[cols]

    def to_dict(self) -> dict[str, Any]:
        """The sweep document (``planner sweep --json``)."""
        from planner.documents import sweep_document

        return sweep_document(self.spec, self.table)


def sweep(
    scenario: str | Path | None = None,
    *,
    params: dict[str, str | list[Any]] | list[str],
    samples: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    executor: str = "local",
    explain: bool = False,
) -> SweepResult:
    """Plan a grid (or ``samples`` random points) of scenario variants (``planner sweep``).
    ``params``: ``{"constraints.power_cap_mw": "5:50:5"}`` (a:b:step, a:b, a,b,c, or a list of
    values) or ``["constraints.power_cap_mw=5:50:5"]``; ``executor``: local | dask."""
    from planner.errors import ScenarioError
    from planner.sweep.executors import make_executor
    from planner.sweep.grid import build_sweep
    from planner.sweep.run import run_sweep

    if isinstance(params, dict):
        items = [f"{k}={','.join(map(str, v)) if isinstance(v, list | tuple) else v}" for k, v in params.items()]
    else:
        items = list(params)
    if executor not in ("local", "dask"):
        raise ScenarioError(f"executor must be local or dask, got '{executor}'")
    if not isinstance(scenario, str | Path | None):
        raise ScenarioError(
            "sweep takes a scenario file or a shipped scenario's name (each point is loaded from it); "
            "set fields with params, not with a loaded scenario's overrides"
        )
    spec = build_sweep(scenario, items, samples=samples, seed=seed)
    runner = make_executor(executor, workers)
    return SweepResult(run_sweep(spec, runner, explain=explain), spec)
