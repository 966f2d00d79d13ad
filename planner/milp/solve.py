"""Hand a PuLP model to HiGHS in one pass (highspy ``passModel``), solve, read back.

Why not ``pulp.HiGHS``: it adds columns and rows one by one, cannot return a proper status
for an LP stopped by its time limit (it says Optimal), and prints the banner. Here the
model goes over as one CSR matrix, the HiGHS model status is checked (a time-limited MIP
with an incumbent is reported as ``time_limit`` with its gap, never as optimal), and
values are written back into the PuLP variables. CBC is available through PuLP when
asked for and installed (PuLP 3.x bundles it; PuLP 4 needs ``pulp[cbc]``).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pulp
from typing_extensions import TypedDict  # pydantic reads it (document schemas): not typing's on 3.11

from planner.errors import ScenarioError, SolverError, SolverLimitError
from planner.milp.formulation import Model, periodic
from planner.milp.highs import silence_banner
from planner.milp.status import Status


@dataclass(frozen=True, kw_only=True)
class SolverOptions:
    """How to solve: made once from the scenario's ``solver:`` section (and the CLI flags that set
    it), handed to every ``solve``. No problem type carries these."""

    backend: Literal["highs", "cbc"] = "highs"
    mip_rel_gap: float = 1e-4  # relative MIP gap [1]
    time_limit_s: float = 120.0  # per solve [s]
    threads: int = 1  # HiGHS fixes its thread pool at the first solve of a process


class SolverInfo(TypedDict):
    """The ``solver`` section of a plan's and a buildout's JSON: how it was solved and how well."""

    backend: str  # highs | cbc
    status: str  # optimal | time_limit | infeasible | ...
    mip_rel_gap: float  # the gap asked for [1]
    mip_gap: float  # the gap proven [1]
    time_limit_s: float  # per solve [s]


def solver_info(options: SolverOptions, status: str, mip_gap: float) -> SolverInfo:
    """``SolverInfo`` of a run solved with ``options`` that ended in ``status`` with ``mip_gap``."""
    return {
        "backend": options.backend,
        "status": status,
        "mip_rel_gap": options.mip_rel_gap,
        "mip_gap": mip_gap,
        "time_limit_s": options.time_limit_s,
    }


@dataclass(frozen=True)
class SolveResult:
    status: Status
    objective: float  # [$ or tokens, per the objective solved]
    mip_gap: float  # relative gap proven (0 for an LP)
    dual_bound: float
    handoff_seconds: float
    solve_seconds: float
    values: np.ndarray  # variable values in model.variables order
    row_duals: dict[str, float]  # LP only, the rows asked for by solver label; empty for a MIP

    @property
    def ok(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.TIME_LIMIT) and self.values.size > 0


MAX_MAGNITUDE = 1e15  # larger coefficients or bounds come from an input far outside any real range


def _check_range(model: Model, names: list[str], starts: list[int], lp) -> None:
    """Refuse a model holding inf, NaN or a number beyond MAX_MAGNITUDE before HiGHS sees it,
    naming the row or column in the formulation's grammar (an input error, exit 2)."""
    from planner.milp.modelfile import model_names

    def bad(a: np.ndarray, infinite_ok: bool) -> np.ndarray:
        finite = np.isfinite(a)
        out_of_range = ~finite if not infinite_ok else np.isnan(a)
        return np.flatnonzero(out_of_range | (finite & (np.abs(a) > MAX_MAGNITUDE)))

    where = None
    for label, arr, kind in (
        ("a coefficient", np.asarray(lp.a_matrix_.value_, dtype=float), "matrix"),
        ("a cost", np.asarray(lp.col_cost_, dtype=float), "col"),
        ("a bound", np.concatenate([lp.col_lower_, lp.col_upper_]), "bound"),  # +-inf: no bound
        ("a limit", np.concatenate([lp.row_lower_, lp.row_upper_]), "row"),
    ):
        hits = bad(arr, infinite_ok=kind in ("bound", "row"))
        if len(hits):
            i = int(hits[0])
            where = (label, float(arr[i]), kind, i)
            break
    if where is None:
        return
    label, value, kind, i = where
    grammar = model_names(periodic(model))
    n_rows = len(names)
    if kind == "matrix":
        row = int(np.searchsorted(np.asarray(starts), i, side="right") - 1)
        place = f"row {grammar.get(names[row], names[row])}"
    elif kind == "row":
        place = f"row {grammar.get(names[i % n_rows], names[i % n_rows])}"
    else:
        var = model.variables[i % len(model.variables)].name
        place = f"column {grammar.get(var, var)}"
    raise ScenarioError(
        f"the model holds {label} of {value:.3g} in {place}: an input is far outside any real range "
        f"(above {MAX_MAGNITUDE:.0e} once in the model's units); check the throughput, power, price and cap "
        "figures behind it"
    )


def _matrix(model: Model, extra: list[pulp.LpConstraint]):
    index = {v.name: i for i, v in enumerate(model.variables)}
    starts, indices, values, lower, upper, names = [0], [], [], [], [], []
    rows = [(c.name, c) for c in model.prob.constraints()]
    rows += [(c.name, c) for c in extra]
    for name, con in rows:
        for var, coef in con.items():
            if coef:
                indices.append(index[var.name])
                values.append(coef)
        starts.append(len(indices))
        lb, ub = con.getLb(), con.getUb()
        lower.append(-np.inf if lb is None else lb)
        upper.append(np.inf if ub is None else ub)
        names.append(name)
    return index, starts, indices, values, lower, upper, names


def highs_lp(
    model: Model,
    objective: pulp.LpAffineExpression | None = None,
    *,
    extra: list[pulp.LpConstraint] | None = None,
    mip: bool = True,
):
    """The HiGHS model of ``model`` (columns in ``model.variables`` order, rows in the model's order
    then ``extra``), its row labels, and whether it has integers; refused if it holds a number far
    outside any real range."""
    import highspy

    objective = model.cost if objective is None else objective
    index, starts, indices, values, lower, upper, names = _matrix(model, extra or [])
    n = len(model.variables)
    cost = np.zeros(n)
    for var, coef in objective.items():
        cost[index[var.name]] += coef
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(lower)
    lp.col_cost_ = cost
    lp.offset_ = float(objective.constant)
    lp.col_lower_ = np.array([-np.inf if v.lowBound is None else v.lowBound for v in model.variables], dtype=float)
    lp.col_upper_ = np.array([np.inf if v.upBound is None else v.upBound for v in model.variables], dtype=float)
    lp.row_lower_ = np.array(lower, dtype=float)
    lp.row_upper_ = np.array(upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(indices, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(values, dtype=float)
    _check_range(model, names, starts, lp)
    is_mip = mip and any(v.cat == pulp.LpInteger for v in model.variables)
    if is_mip:
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if v.cat == pulp.LpInteger else highspy.HighsVarType.kContinuous
            for v in model.variables
        ]
    return lp, names, is_mip


def highs_solver(options: SolverOptions):
    """A silent HiGHS instance set up with ``options`` (the one set-up: every MILP, LP and dispatch)."""
    import highspy

    silence_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
    h.setOptionValue("time_limit", float(options.time_limit_s))
    h.setOptionValue("random_seed", 0)
    # HiGHS fixes its thread pool at the first solve of a process; later values are ignored
    h.setOptionValue("threads", int(options.threads))
    return h


def solve_highs(
    model: Model,
    options: SolverOptions,
    objective: pulp.LpAffineExpression | None = None,
    *,
    extra: list[pulp.LpConstraint] | None = None,
    mip: bool = True,
    duals: frozenset[str] = frozenset(),
    abs_gap: float | None = None,
) -> SolveResult:
    """Solve ``model`` (optionally with another objective and extra rows) with HiGHS."""
    import highspy

    start = time.perf_counter()
    lp, names, is_mip = highs_lp(model, objective, extra=extra, mip=mip)
    h = highs_solver(options)
    if abs_gap is not None:
        h.setOptionValue("mip_abs_gap", float(abs_gap))
    h.passModel(lp)
    handoff = time.perf_counter() - start
    start = time.perf_counter()
    h.run()
    S = highspy.HighsModelStatus
    status = h.getModelStatus()
    if status in (S.kSolveError, S.kPostsolveError, S.kPresolveError, S.kUnknown):
        # numerical trouble on a well-posed model: once more without presolve, from another seed
        h.clearSolver()
        h.setOptionValue("presolve", "off")
        h.setOptionValue("random_seed", 1)
        h.run()
        status = h.getModelStatus()
    solve_seconds = time.perf_counter() - start
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if status == S.kOptimal:
        label = Status.OPTIMAL
    elif status in (S.kInfeasible, S.kUnboundedOrInfeasible):
        label = Status.INFEASIBLE
    elif status in (S.kTimeLimit, S.kIterationLimit, S.kInterrupt, S.kSolutionLimit) and has_solution and is_mip:
        label = Status.TIME_LIMIT
    elif status in (S.kTimeLimit, S.kIterationLimit):
        limit = f"time limit ({options.time_limit_s:g} s)" if status == S.kTimeLimit else "iteration limit"
        bound = float(info.mip_dual_bound) if is_mip else math.nan
        reached = f"; best bound reached {bound:,.6g}" if math.isfinite(bound) else ""
        raise SolverLimitError(
            f"HiGHS stopped at its {limit} after {time.perf_counter() - start:.2f} s with no feasible answer "
            f"yet{reached}; raise `solver.time_limit_s` or use time aggregation (`solver.time_aggregation: auto`)"
        )
    else:
        raise SolverError(f"HiGHS ended with status {h.modelStatusToString(status)}")
    x = np.array(h.getSolution().col_value, dtype=float) if label != Status.INFEASIBLE else np.zeros(0)
    row_duals: dict[str, float] = {}
    if duals and not is_mip and label == Status.OPTIMAL:
        rd = h.getSolution().row_dual
        row_duals = {name: float(rd[i]) for i, name in enumerate(names) if name in duals}
    if x.size:
        for var, val in zip(model.variables, x, strict=True):
            var.varValue = float(val)
    gap = float(info.mip_gap) if is_mip and label != Status.INFEASIBLE else 0.0
    return SolveResult(
        status=label,
        objective=float(info.objective_function_value) if x.size else float("nan"),
        mip_gap=gap if np.isfinite(gap) else float("inf"),
        dual_bound=float(info.mip_dual_bound) if is_mip else float(info.objective_function_value),
        handoff_seconds=handoff,
        solve_seconds=solve_seconds,
        values=x,
        row_duals=row_duals,
    )


def solve_cbc(
    model: Model, options: SolverOptions, objective: pulp.LpAffineExpression | None = None, *, extra=None, mip=True
) -> SolveResult:
    """Solve with CBC through PuLP (cross-checks; slower)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # PULP_CBC_CMD is deprecated in PuLP 3.3
        candidates = [name for name in ("PULP_CBC_CMD", "COIN_CMD") if name in pulp.listSolvers(onlyAvailable=True)]
        if not candidates:
            raise ScenarioError("solver.backend cbc: CBC is not available here (PuLP 4 needs 'pip install pulp[cbc]')")
        solver = pulp.getSolver(
            candidates[0], msg=False, timeLimit=options.time_limit_s, gapRel=options.mip_rel_gap, mip=mip
        )
    prob = model.prob.deepcopy() if (objective is not None or extra) else model.prob
    if objective is not None:
        prob.setObjective(objective)
    for con in extra or []:
        prob.addConstraint(con)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        prob.solve(solver)
    elapsed = time.perf_counter() - start
    if prob.status == pulp.LpStatusInfeasible:
        return SolveResult(Status.INFEASIBLE, float("nan"), 0.0, float("nan"), 0.0, elapsed, np.zeros(0), {})
    if prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        raise SolverError(f"CBC ended with status {pulp.LpStatus[prob.status]} ({prob.sol_status})")
    by_name = {v.name: v.varValue for v in prob.variables()}
    x = np.array([by_name.get(v.name, 0.0) or 0.0 for v in model.variables], dtype=float)
    for var, val in zip(model.variables, x, strict=True):
        var.varValue = float(val)
    label = Status.OPTIMAL if prob.sol_status == pulp.LpSolutionOptimal else Status.TIME_LIMIT
    obj = pulp.value(prob.objective)
    return SolveResult(  # PuLP does not report the gap CBC reached: unknown (null in JSON)
        label,
        float(obj),
        float("nan"),
        float("nan"),
        0.0,
        elapsed,
        x,
        {},
    )


def solve(
    model: Model,
    options: SolverOptions,
    objective=None,
    *,
    extra=None,
    mip=True,
    duals: frozenset[str] = frozenset(),
    abs_gap=None,
) -> SolveResult:
    """Solve ``model`` (its cost, or ``objective``; plus ``extra`` rows) with ``options``' backend."""
    if options.backend == "cbc":
        return solve_cbc(model, options, objective, extra=extra, mip=mip)
    return solve_highs(model, options, objective, extra=extra, mip=mip, duals=duals, abs_gap=abs_gap)
