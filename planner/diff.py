"""`planner diff A B`: two plans side by side, and a one-line verdict of what B changes.

A side is a plan document (``plan.json`` from ``planner plan --out``, or ``--json`` output;
a folder holding ``plan.json`` will do) or a scenario (a file or a shipped name), planned on
the spot. Compared: the fleet per SKU column (units, GPUs, MW, $/h), the key figures (cost
per million tokens, total cost, power, run-rate, capex, tokens served), every cap's limit,
use and whether it binds. A difference smaller than the solver's tolerance (relative 1e-9) is
zero, never a finding.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from pydantic import JsonValue

from planner.errors import ScenarioError
from planner.milp.status import Status
from planner.units import percent, si

TOLERANCE = 1e-9  # relative: differences below this are zero [1]
FIGURES = (  # key figures compared: key, label, unit
    ("cost_per_million_tokens", "cost per million tokens", "$/M tokens"),
    ("total_cost_usd", "total cost", "$"),
    ("power_mw", "facility power", "MW"),
    ("run_rate_usd_per_hour", "run-rate", "$/h"),
    ("capex_spend_usd", "capex", "$"),
    ("tokens_served", "tokens served", "tokens"),
    ("span_hours", "span", "h"),
)


FleetFigure = Literal["units", "gpus", "power_mw", "cost_usd_per_hour"]
FLEET_FIGURES: tuple[FleetFigure, ...] = ("units", "gpus", "power_mw", "cost_usd_per_hour")  # compared per SKU


@dataclass(frozen=True)
class Side:
    """One plan to compare: where it came from and its document (plan JSON keys)."""

    label: str  # the argument as given
    source: str  # plan file | scenario (planned now)
    doc: dict[str, JsonValue]  # the plan document as read (plan.json) or serialised (FleetPlan.to_dict())


class FleetEntry(TypedDict, total=False):
    """The keys of a plan document's ``fleet`` row (a serialised SkuResult) that the diff reads."""

    sku: str
    placed_sku: str | None
    units: float | None
    gpus: float | None
    power_mw: float | None  # [MW]
    cost_usd_per_hour: float | None  # [$/h]


class CapEntry(TypedDict, total=False):
    """The keys of a plan document's ``caps`` row (a serialised CapUse) that the diff reads."""

    name: str
    unit: str
    limit: float | None
    used: float | None
    binding: bool | None


class SideInfo(TypedDict):
    """What a side is, in the diff's JSON (``a`` and ``b``)."""

    label: str  # the argument as given
    source: str  # plan file | scenario (planned now)
    scenario: str | None
    status: str | None
    objective: str | None


@dataclass(frozen=True)
class FleetChange:
    sku: str  # the plan's SKU column id
    unit: str  # node | rack | unit: what one of its units is
    units_a: float
    units_b: float
    delta_units: float
    gpus_a: float
    gpus_b: float
    delta_gpus: float
    power_mw_a: float
    power_mw_b: float
    delta_power_mw: float
    cost_usd_per_hour_a: float
    cost_usd_per_hour_b: float
    delta_cost_usd_per_hour: float


@dataclass(frozen=True)
class FigureChange:
    key: str
    label: str
    unit: str
    a: float | None
    b: float | None
    delta: float | None
    relative: float | None  # delta / a [1]


@dataclass(frozen=True)
class CapChange:
    name: str
    unit: str
    limit_a: float | None
    limit_b: float | None
    used_a: float | None
    used_b: float | None
    binding_a: bool | None
    binding_b: bool | None


@dataclass(frozen=True)
class PlanDiff:
    a: SideInfo
    b: SideInfo
    fleet: list[FleetChange]
    figures: list[FigureChange]
    caps: list[CapChange]
    binding: dict[str, list[str]]  # a, b, added (binds in B only), removed (binds in A only)
    same_fleet: bool
    verdict: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``planner diff --json``)."""
        return asdict(self)


def _zero(x: float, scale: float) -> float:
    """``x`` with differences below the tolerance (relative to ``scale``) set to 0."""
    return 0.0 if abs(x) <= TOLERANCE * max(abs(scale), 1.0) else x


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) else None


def read_side(arg: str | Path) -> Side:
    """A side of the diff: a plan document, or a scenario planned now."""
    from planner.inputs import read_json

    path = Path(arg)
    if path.is_dir() and (path / "plan.json").is_file():
        path = path / "plan.json"
    yaml_file = path.suffix.lower() in (".yaml", ".yml")
    if path.suffix.lower() == ".json" or (path.is_file() and not yaml_file and _starts_with_brace(path)):
        doc = read_json(path, "plan file", "write one with `planner plan --out DIR` or `planner plan --json`")
        if not isinstance(doc, dict) or not isinstance(doc.get("fleet"), list) or "cost_per_million_tokens" not in doc:
            what = "a buildout document" if isinstance(doc, dict) and "periods" in doc else "not a plan document"
            raise ScenarioError(
                f"{path}: {what}; planner diff compares plans (plan.json of `planner plan --out`, or "
                "`planner plan --json` output) or scenarios"
            )
        from planner.doccheck import check_document
        from planner.optimize.plan import FleetPlan

        check_document("plan", FleetPlan, doc, str(path))
        return Side(str(arg), "plan file", doc)
    if path.is_dir():
        raise ScenarioError(f"{path}: a folder without plan.json; give a plan.json, a plan folder or a scenario")
    from planner.pipeline import run_plan

    return Side(str(arg), "scenario (planned now)", run_plan(str(arg)).to_dict())


def _starts_with_brace(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(64).lstrip()[:1] == b"{"


def unit_kinds() -> dict[str, str]:
    """node | rack per catalog SKU (what one unit of it is)."""
    from planner.catalog.load import shipped_catalog

    return {k: s.unit.kind for k, s in shipped_catalog().skus.items()}


def _fleet(doc: dict[str, JsonValue]) -> dict[str, FleetEntry]:
    """A plan document's fleet rows by SKU column."""
    rows: list[FleetEntry] = doc.get("fleet") or []
    return {row["sku"]: row for row in rows}


def _caps(doc: dict[str, JsonValue]) -> dict[str, CapEntry]:
    """A plan document's cap rows by cap name."""
    rows: list[CapEntry] = doc.get("caps") or []
    return {c["name"]: c for c in rows}


def diff_plans(a: Side, b: Side, kinds: dict[str, str] | None = None) -> PlanDiff:
    """What B changes against A."""
    kinds = unit_kinds() if kinds is None else kinds
    fa, fb = _fleet(a.doc), _fleet(b.doc)
    order = list(fa) + [k for k in fb if k not in fa]
    fleet = []
    for sku in order:
        ra, rb = fa.get(sku, FleetEntry()), fb.get(sku, FleetEntry())
        vals: dict[FleetFigure, tuple[float, float, float]] = {}  # figure: (A, B, B - A)
        for figure in FLEET_FIGURES:
            va, vb = _num(ra.get(figure)) or 0.0, _num(rb.get(figure)) or 0.0
            vals[figure] = (va, vb, _zero(vb - va, max(abs(va), abs(vb))))
        if not any(vals[k][0] or vals[k][1] for k in vals):
            continue
        row = ra or rb
        base = row.get("placed_sku") or sku
        changes: dict[str, float] = {}
        for figure, (va, vb, change) in vals.items():
            changes.update({f"{figure}_a": va, f"{figure}_b": vb, f"delta_{figure}": change})
        fleet.append(FleetChange(sku=sku, unit=kinds.get(base, "unit"), **changes))
    figures = []
    for key, label, unit in FIGURES:
        xa, xb = _num(a.doc.get(key)), _num(b.doc.get(key))
        delta = None if xa is None or xb is None else _zero(xb - xa, max(abs(xa), abs(xb)))
        rel = None if delta is None or not xa else delta / abs(xa)
        figures.append(FigureChange(key, label, unit, xa, xb, delta, rel))
    caps_a, caps_b = _caps(a.doc), _caps(b.doc)
    none = CapEntry()
    caps = [
        CapChange(
            name=n,
            unit=(caps_a.get(n) or caps_b[n])["unit"],  # a name is in A's caps or in B's
            limit_a=_num(caps_a.get(n, none).get("limit")),
            limit_b=_num(caps_b.get(n, none).get("limit")),
            used_a=_num(caps_a.get(n, none).get("used")),
            used_b=_num(caps_b.get(n, none).get("used")),
            binding_a=caps_a.get(n, none).get("binding"),
            binding_b=caps_b.get(n, none).get("binding"),
        )
        for n in list(caps_a) + [k for k in caps_b if k not in caps_a]
    ]
    ba, bb = list(a.doc.get("binding") or []), list(b.doc.get("binding") or [])
    binding = {"a": ba, "b": bb, "added": [x for x in bb if x not in ba], "removed": [x for x in ba if x not in bb]}
    same = all(c.delta_units == 0 for c in fleet)
    notes = []
    if a.doc.get("scenario_sha256") and a.doc.get("scenario_sha256") == b.doc.get("scenario_sha256"):
        notes.append("A and B were planned from the same scenario (same scenario_sha256)")
    return PlanDiff(
        a=_side_info(a),
        b=_side_info(b),
        fleet=fleet,
        figures=figures,
        caps=caps,
        binding=binding,
        same_fleet=same,
        verdict=verdict(a, b, fleet, figures),
        notes=notes,
    )


def _side_info(s: Side) -> SideInfo:
    d = s.doc
    return {
        "label": s.label,
        "source": s.source,
        "scenario": d.get("scenario"),
        "status": d.get("status"),
        "objective": d.get("objective"),
    }


def _count(n: float) -> str:
    return f"{n:+,.0f}" if float(n).is_integer() else f"{n:+,.2f}"


def _plural(word: str, n: float) -> str:
    return word if abs(n) == 1 else word + "s"


def verdict(a: Side, b: Side, fleet: list[FleetChange], figures: list[FigureChange]) -> str:
    """One line: "B: +12 gb300-nvl72 racks, -40 h200-sxm nodes, +1.8 MW, -$0.004/M tokens (-3.1 %)"."""
    sa, sb = a.doc.get("status"), b.doc.get("status")
    if Status.INFEASIBLE in (sa, sb):
        if sa == sb:
            return "B: both plans are infeasible"
        return "B: infeasible (A is " + str(sa) + ")" if sb == Status.INFEASIBLE else f"B: {sb}, where A is infeasible"
    parts = [f"{_count(c.delta_units)} {c.sku} {_plural(c.unit, c.delta_units)}" for c in fleet if c.delta_units]
    fig = {f.key: f for f in figures}
    mw = fig["power_mw"].delta
    if mw:
        parts.append(("+" if mw > 0 else "") + si(mw, "MW"))
    cpm = fig["cost_per_million_tokens"]
    if cpm.delta:
        rel = f" ({percent(cpm.relative)})" if cpm.relative is not None else ""
        parts.append(("+" if cpm.delta > 0 else "") + si(cpm.delta, "$/M tokens") + rel)
    if not parts:
        return "B: same fleet, same cost per token"
    return "B: " + ", ".join(parts)
