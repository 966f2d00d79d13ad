"""The model as a file (`--write-model`), its rows and columns named in the formulation's grammar.

Names carry ids: ``units[h200-sxm]``, ``buy[h200-sxm]``, ``busy[h200-sxm,chat,17]``,
``unserved[chat,17]``, ``capacity[h200-sxm,17]``, ``serve_demand[chat,17]``,
``vintage_life[h200-sxm]``, ``power_cap``; in a buildout the period label joins the indices
(``units[h200-sxm,2026Q3]``, ``power_cap[2026Q3]``). An id is escaped (``\\``, ``,``, ``[``,
``]`` and whitespace as ``\\xNN``) so that two ids can never give one name. These are the names
of reports and diagnoses too; PuLP's own names (``units_0_0``) stay index-based, since PuLP
rewrites ``-``, ``[`` and spaces.

``.mps`` (free MPS) carries the names as they are; HiGHS, CBC and most solvers read it back.
The LP format does not allow ``[``, ``]`` or ``-`` in names, so ``.lp`` keeps PuLP's index names
and opens with a comment that maps every one of them to its name in the grammar.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pulp

from planner.errors import ScenarioError
from planner.optimize.formulation import BuildoutModel

_ESCAPE = re.compile(r"[\\,\[\]\s]")


def escape(identifier: str) -> str:
    """An id made safe inside a name: ``\\``, ``,``, ``[``, ``]`` and whitespace become ``\\xNN``."""
    return _ESCAPE.sub(lambda m: f"\\x{ord(m.group()):02x}", identifier)


def model_names(model: BuildoutModel) -> dict[str, str]:
    """PuLP name -> name in the grammar, for every column and row of ``model``."""
    problem = model.problem
    skus = [escape(b.id) for b in problem.skus]
    workloads = [escape(w) for w in problem.workloads]
    single = len(problem.periods) == 1
    labels = [escape(p.label) for p in problem.periods]

    def name(family: str, *parts, period: int | None = None) -> str:
        items = list(parts) if single or period is None else [*parts[:-1], labels[period], parts[-1]]
        return f"{family}[{','.join(str(i) for i in items)}]" if items else family

    out: dict[str, str] = {}
    for (j, p), var in model.buy.items():
        out[var.name] = f"buy[{skus[j]}]" if single else f"buy[{skus[j]},{labels[p]}]"
    for (j, p), var in model.units.items():
        out[var.name] = f"units[{skus[j]}]" if single else f"units[{skus[j]},{labels[p]}]"
    for (j, k, p, t), var in model.busy.items():
        out[var.name] = name("busy", skus[j], workloads[k], t, period=p)
    for (k, p, t), var in model.unserved.items():
        out[var.name] = name("unserved", workloads[k], t, period=p)
    caps = {cap.name: cap for cap in model.caps}
    for row in (con.name for con in model.prob.constraints()):
        if row in caps:
            cap = caps[row]
            out[row] = cap.kind if single or cap.period is None else f"{cap.kind}[{labels[cap.period]}]"
        elif row.startswith(("capacity_", "serve_demand_")):
            family = "capacity" if row.startswith("capacity_") else "serve_demand"
            j_or_k, p, t = (int(x) for x in row[len(family) + 1 :].split("_"))
            ids = skus if family == "capacity" else workloads
            out[row] = name(family, ids[j_or_k], t, period=p)
        elif row.startswith(("vintage_life_", "fleet_balance_")):
            family = "vintage_life" if row.startswith("vintage_life_") else "fleet_balance"
            j, p = (int(x) for x in row[len(family) + 1 :].split("_"))
            out[row] = f"{family}[{skus[j]}]" if single else f"{family}[{skus[j]},{labels[p]}]"
        else:
            out[row] = row
    return out


def write_model(model, path: Path, objective: pulp.LpAffineExpression | None = None) -> str:
    """The model (with ``objective``, default its own) as .mps or .lp text; see the module doc."""
    suffix = path.suffix.lower()
    if suffix not in (".lp", ".mps"):
        raise ScenarioError(f"--write-model {path}: use a .lp or .mps file name")
    periodic = getattr(model, "period_model", model)
    names = model_names(periodic)
    objective = model.cost if objective is None else objective
    if suffix == ".mps":
        return _mps(periodic, names, objective)
    prob = model.prob.deepcopy()
    prob.setObjective(objective)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "model.lp"
        prob.writeLP(str(scratch))
        body = scratch.read_text()
    header = ["\\ names in the formulation's grammar (planner/optimize/modelfile.py):"]
    header += [f"\\   {pulp_name} = {grammar}" for pulp_name, grammar in names.items()]
    return "\n".join(header) + "\n" + body


def _number(x: float) -> str:
    return repr(float(x))


def _mps(model: BuildoutModel, names: dict[str, str], objective: pulp.LpAffineExpression) -> str:
    """Free MPS: rows, columns (integers between markers), right-hand sides and bounds."""
    rows = [(con.name, con) for con in model.prob.constraints()]
    sense = {pulp.LpConstraintLE: "L", pulp.LpConstraintEQ: "E", pulp.LpConstraintGE: "G"}
    entries: dict[str, list[tuple[str, float]]] = {v.name: [] for v in model.variables}
    for var, coef in objective.items():
        if coef:
            entries[var.name].append(("obj", coef))
    for row, con in rows:
        for var, coef in con.items():
            if coef:
                entries[var.name].append((names[row], coef))
    lines = ["NAME fleet", "ROWS", " N obj"]
    lines += [f" {sense[con.sense]} {names[row]}" for row, con in rows]
    lines.append("COLUMNS")
    integer = False
    for var in model.variables:
        is_int = var.cat == pulp.LpInteger
        if is_int != integer:
            lines.append(f"    MARKER 'MARKER' '{'INTORG' if is_int else 'INTEND'}'")
            integer = is_int
        col = names[var.name]
        lines += [f"    {col} {row} {_number(coef)}" for row, coef in entries[var.name]] or [f"    {col} obj 0"]
    if integer:
        lines.append("    MARKER 'MARKER' 'INTEND'")
    lines.append("RHS")
    if objective.constant:
        lines.append(f"    RHS obj {_number(-objective.constant)}")
    lines += [f"    RHS {names[row]} {_number(-con.constant)}" for row, con in rows if con.constant]
    lines.append("BOUNDS")
    for var in model.variables:
        col, lb, ub = names[var.name], var.lowBound, var.upBound
        if lb is not None and ub is not None and lb == ub:
            lines.append(f" FX BND {col} {_number(lb)}")
            continue
        if lb is None:
            lines.append(f" MI BND {col}")
        elif lb != 0:
            lines.append(f" LO BND {col} {_number(lb)}")
        if ub is not None:
            lines.append(f" UP BND {col} {_number(ub)}")
        elif var.cat == pulp.LpInteger:
            lines.append(f" PL BND {col}")
    lines.append("ENDATA")
    return "\n".join(lines) + "\n"
