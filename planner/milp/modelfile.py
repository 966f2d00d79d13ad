"""The model as a file (`--write-model`), its rows and columns named in the formulation's grammar.

Names carry ids: ``units[h200-sxm]``, ``buy[h200-sxm]``, ``busy[h200-sxm,chat,17]``,
``unserved[chat,17]``, ``capacity[h200-sxm,17]``, ``serve_demand[chat,17]``,
``vintage_life[h200-sxm]``, ``power_cap``, ``site_power[hall-a]``, ``rack_positions[hall-a]``,
``supply[h200-node]``, ``racks[hall-a,h200-node]``; in a buildout the period label joins the
indices (``units[h200-sxm,2026Q3]``, ``power_cap[2026Q3]``). They come from the model's one
registry (``planner.milp.names``), which escapes an id (``\\``, ``,``, ``[``, ``]`` and whitespace
as ``\\xNN``) so that two ids can never give one name; the solver's own labels (``units_0_0``)
are index-based, since PuLP rewrites ``-``, ``[`` and spaces.

``.mps`` (free MPS) carries the names as they are; HiGHS, CBC and most solvers read it back.
The LP format does not allow ``[``, ``]`` or ``-`` in names, so ``.lp`` keeps PuLP's index names
and opens with a comment that maps every one of them to its name in the grammar.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pulp

from planner.errors import ScenarioError
from planner.milp.formulation import BuildoutModel, periodic
from planner.milp.names import escape  # noqa: F401 (part of this module's interface)


def model_names(model: BuildoutModel) -> dict[str, str]:
    """Solver label -> name in the grammar, for every column and row of ``model`` (its registry)."""
    return model.names.grammar_names()


def write_model(model, path: Path, objective: pulp.LpAffineExpression | None = None) -> str:
    """The model (with ``objective``, default its own) as .mps or .lp text; see the module doc."""
    suffix = path.suffix.lower()
    if suffix not in (".lp", ".mps"):
        raise ScenarioError(f"`write_model` {path}: use a .lp or .mps file name")
    indexed = periodic(model)
    names = model_names(indexed)
    objective = model.cost if objective is None else objective
    if suffix == ".mps":
        return _mps(indexed, names, objective)
    prob = model.prob.deepcopy()
    prob.setObjective(objective)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "model.lp"
        prob.writeLP(str(scratch))
        body = scratch.read_text()
    header = ["\\ names in the formulation's grammar (planner/milp/modelfile.py):"]
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
