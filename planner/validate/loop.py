"""Closed loop: re-plan with more headroom until the simulated SLO attainment meets the target.

Headroom is ``constraints.max_utilization`` (the busy share the plan may use of each SKU's
GPUs at the peak). Iteration 0 plans with the scenario's own ``max_utilization`` (the start
is ``start="scenario"``); with ``from_no_headroom=True`` it plans with 1.0 instead
(``start="no_headroom"``), so that the loop finds the least headroom that meets the target
whatever the scenario sets. Each next iteration is a new FleetProblem
(``dataclasses.replace``) with ``max_utilization`` lowered by ``step``, planned from scratch
and simulated with the same seed (common random numbers). The loop stops when attainment
>= the target, when the plan becomes infeasible (a cap such as the power cap makes more
headroom impossible: reported with the diagnosis), or at ``min_utilization``.

The price of the headroom is a number: the final cost per million tokens minus that of the
**no-headroom reference**, the plan at ``max_utilization`` 1.0 (also simulated, so its
attainment is reported). When the loop starts at 1.0 the reference is iteration 0; when it
starts below, the reference is planned and simulated once more, apart from the iterations
(None when it is infeasible).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TypedDict

import planner.progress as progress
from planner.errors import ScenarioError
from planner.milp.problem import FleetProblem
from planner.milp.solve import SolverOptions
from planner.milp.status import Status
from planner.optimize.plan import FleetPlan
from planner.validate.arrivals import RequestProfile
from planner.validate.metrics import FleetSimResult, FleetSimResultDoc
from planner.validate.sim import ValidationOptions, simulate_fleet


class LoopIterationDoc(TypedDict):
    """One iteration as written out (the fields of LoopIteration)."""

    iteration: int
    max_utilization: float
    headroom: float
    status: str
    planned_cost_per_million_tokens: float | None
    realized_cost_per_million_tokens: float | None
    slo_attainment: float | None
    peak_slo_attainment: float | None
    served_fraction: float | None
    power_mw: float | None
    meets_slo: bool


class LoopDoc(TypedDict):
    """The validation loop's document (the ``validation`` block of `planner plan --validate --json`)."""

    slo_target: float
    start: str
    start_max_utilization: float
    met: bool
    stopped_by: str
    final_iteration: int
    reference_cost_per_million_tokens: float | None
    reference_slo_attainment: float | None
    headroom_price_per_million_tokens: float | None
    iterations: list[LoopIterationDoc]
    final_validation: FleetSimResultDoc | None


@dataclass(frozen=True)
class LoopIteration:
    iteration: int
    max_utilization: float  # [1]
    headroom: float  # 1 - max_utilization [1]
    status: str  # plan status
    planned_cost_per_million_tokens: float | None  # [$/M tokens]
    realized_cost_per_million_tokens: float | None  # [$/M tokens]
    slo_attainment: float | None  # [1]
    peak_slo_attainment: float | None  # [1]
    served_fraction: float | None  # [1]
    power_mw: float | None  # [MW]
    meets_slo: bool

    def to_dict(self) -> LoopIterationDoc:
        return LoopIterationDoc(**asdict(self))  # the document's keys are the fields


@dataclass(frozen=True)
class LoopResult:
    slo_target: float
    start: str  # scenario (its own max_utilization) | no_headroom (1.0, --from-no-headroom)
    start_max_utilization: float  # iteration 0's max_utilization [1]
    met: bool
    stopped_by: str  # slo_met | infeasible: <summary> | min_utilization
    iterations: list[LoopIteration]
    final_index: int  # iteration whose plan is the answer (the last feasible one)
    reference_cost_per_million_tokens: float | None  # no-headroom plan (max_utilization 1.0) [$/M tokens]
    reference_slo_attainment: float | None
    headroom_price_per_million_tokens: float | None  # final - reference [$/M tokens]
    final_plan: FleetPlan | None = field(default=None, repr=False)
    final_problem: FleetProblem | None = field(default=None, repr=False)
    final_sim: FleetSimResult | None = field(default=None, repr=False)

    def to_dict(self) -> LoopDoc:
        return {
            "slo_target": self.slo_target,
            "start": self.start,
            "start_max_utilization": self.start_max_utilization,
            "met": self.met,
            "stopped_by": self.stopped_by,
            "final_iteration": self.final_index,
            "reference_cost_per_million_tokens": self.reference_cost_per_million_tokens,
            "reference_slo_attainment": self.reference_slo_attainment,
            "headroom_price_per_million_tokens": self.headroom_price_per_million_tokens,
            "iterations": [i.to_dict() for i in self.iterations],
            "final_validation": self.final_sim.to_dict() if self.final_sim else None,
        }


def _iteration(i: int, u: float, plan: FleetPlan, sim: FleetSimResult | None, slo: float) -> LoopIteration:
    return LoopIteration(
        iteration=i,
        max_utilization=u,
        headroom=1.0 - u,
        status=plan.status,
        planned_cost_per_million_tokens=None if sim is None else plan.cost_per_million_tokens,
        realized_cost_per_million_tokens=None if sim is None else sim.realized_cost_per_million_tokens,
        slo_attainment=None if sim is None else sim.slo_attainment,
        peak_slo_attainment=None if sim is None else sim.peak_slo_attainment,
        served_fraction=None if sim is None else sim.served_fraction,
        power_mw=None if sim is None else plan.power_mw,
        meets_slo=sim is not None and sim.slo_attainment >= slo,
    )


def validate_loop(
    problem: FleetProblem,
    profiles: dict[str, RequestProfile],
    options: ValidationOptions,
    solver: SolverOptions,
    *,
    slo: float = 0.99,
    step: float = 0.02,
    min_utilization: float = 0.5,
    from_no_headroom: bool = False,
    plan: Callable[[FleetProblem], FleetPlan] | None = None,
    on_iteration: Callable[[LoopIteration], None] | None = None,
) -> LoopResult:
    """Lower max_utilization by ``step`` until the SLO holds (see module doc)."""
    if not (0 < slo <= 1):
        raise ScenarioError(f"`slo` {slo!r}: a target share of requests in (0, 1], e.g. 0.99")
    if not (0 < step < 1):
        raise ScenarioError(f"`headroom_step` {step!r}: a utilisation step in (0, 1), e.g. 0.02")
    if not (0 < min_utilization <= 1):
        raise ScenarioError(f"`min_utilization` {min_utilization!r}: must be in (0, 1]")
    if plan is None:
        from planner.optimize.run import plan_fleet

        def plan(p: FleetProblem) -> FleetPlan:
            return plan_fleet(p, solver, explain=False)

    iterations: list[LoopIteration] = []
    u = 1.0 if from_no_headroom else float(problem.max_utilization)
    start_u = u
    final = None
    stopped = "min_utilization"
    i = 0
    most = int(math.floor((u - min_utilization) / step + 1e-9)) + 1
    with progress.task(f"closed loop: iteration 1 at max_utilization {u:.2f}", total=most) as pt:
        while True:
            current = replace(problem, max_utilization=round(u, 10))
            result = plan(current)
            if result.status == Status.INFEASIBLE:
                it = _iteration(i, u, result, None, slo)
                iterations.append(it)
                if on_iteration:
                    on_iteration(it)
                summary = result.reason.summary if result.reason else "no feasible fleet"
                stopped = f"infeasible: {summary}"
                break
            sim = simulate_fleet(current, result, profiles, options)
            it = _iteration(i, u, result, sim, slo)
            iterations.append(it)
            if on_iteration:
                on_iteration(it)
            final = (i, current, result, sim)
            if it.meets_slo:
                stopped = "slo_met"
                break
            nxt = u - step
            if nxt < min_utilization - 1e-12:
                stopped = "min_utilization"
                break
            u, i = nxt, i + 1
            pt.update(done=i, description=f"closed loop: iteration {i + 1} at max_utilization {u:.2f}")
    if start_u >= 1.0:  # iteration 0 ran at max_utilization 1.0: it is the no-headroom reference
        ref_cost, ref_slo = iterations[0].planned_cost_per_million_tokens, iterations[0].slo_attainment
    else:
        ref_problem = replace(problem, max_utilization=1.0)
        with progress.task("closed loop: the no-headroom reference (max_utilization 1.0)"):
            ref_plan = plan(ref_problem)
        ref_cost = ref_slo = None
        if ref_plan.status != Status.INFEASIBLE:
            ref_cost = ref_plan.cost_per_million_tokens
            with progress.task("closed loop: the no-headroom reference (max_utilization 1.0)"):
                ref_slo = simulate_fleet(ref_problem, ref_plan, profiles, options).slo_attainment
    price = None
    if final is not None and ref_cost is not None and math.isfinite(ref_cost):
        price = final[2].cost_per_million_tokens - ref_cost
    met = final is not None and iterations[final[0]].meets_slo
    return LoopResult(
        slo_target=slo,
        start="no_headroom" if from_no_headroom else "scenario",
        start_max_utilization=start_u,
        met=met,
        stopped_by=stopped,
        iterations=iterations,
        final_index=final[0] if final else -1,
        reference_cost_per_million_tokens=ref_cost,
        reference_slo_attainment=ref_slo,
        headroom_price_per_million_tokens=price,
        final_plan=final[2] if final else None,
        final_problem=final[1] if final else None,
        final_sim=final[3] if final else None,
    )


def scenario_seed(sf) -> int:
    """The scenario's demand seed (0 when it has none): the default validation seed."""
    return int(getattr(sf.scenario.demand, "seed", 0) or 0)


def run_validation_loop(
    sf,
    problem: FleetProblem,
    *,
    slo: float = 0.99,
    step: float = 0.02,
    min_utilization: float = 0.5,
    seed: int | None = None,
    from_no_headroom: bool = False,
    on_iteration: Callable[[LoopIteration], None] | None = None,
) -> tuple[FleetProblem, LoopResult]:
    """The closed loop of ``planner plan --validate`` with default validation options.

    Returns (the final iteration's problem, the loop result); when no iteration is feasible,
    the problem as given (a plan of it is then infeasible).
    """
    from planner.optimize.problem import solver_options
    from planner.validate.arrivals import request_profiles
    from planner.validate.sim import ValidationOptions

    options = ValidationOptions(seed=scenario_seed(sf) if seed is None else seed)
    options.check()
    loop = validate_loop(
        problem,
        request_profiles(sf, problem.workloads),
        options,
        solver_options(sf.scenario),
        slo=slo,
        step=step,
        min_utilization=min_utilization,
        from_no_headroom=from_no_headroom,
        on_iteration=on_iteration,
    )
    return (loop.final_problem or problem), loop
