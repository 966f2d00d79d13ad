"""The JSON documents planner writes and reads back, and their JSON Schemas.

``plan.json`` (``planner plan --json``), the buildout document, the validation document and
the sweep document are serialisations of typed results: ``FleetPlan``, ``BuildoutPlan``,
``FleetSimResult`` and ``SweepDocument``. ``document_schema(kind)`` gives each one's JSON
Schema (``planner schema plan|buildout|validation|sweep``; ``planner schema`` alone: the
scenario file's). Arrays kept for tables and charts (a plan's dispatch, a buildout's decision)
are not part of the documents.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

KINDS = ("scenario", "plan", "buildout", "validation", "sweep")


class SweepParam(BaseModel):
    """One swept field."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="Scenario field path, e.g. constraints.power_cap_mw.")
    values: str = Field(description="The values as given: a:b:step, a:b or a,b,c.")


class SweepDocument(BaseModel):
    """`planner sweep --json`: the grid and one row per point (what `planner report --sweep` reads)."""

    model_config = ConfigDict(extra="forbid")
    scenario: str = Field(description="Scenario file swept.")
    scenario_sha256: str = Field(
        default="", description="Content hash of the scenario swept (before the points' overrides)."
    )
    mode: str = Field(description="grid | random | lhs.")
    seed: int | None = Field(description="Sampling seed (random and lhs).")
    params: list[SweepParam]
    points: int = Field(description="Number of points. [1]")
    rows: list[dict[str, Any]] = Field(
        description="One record per point: the swept values, status, cost_per_million_tokens [$/M tokens], "
        "power_mw [MW], run_rate_usd_per_hour [$/h], units.<sku> [units], ... (the CSV's columns)."
    )


def sweep_document(spec, df) -> dict[str, Any]:
    """The sweep's --json document (and what `planner report` reads back)."""
    from planner.scenario.load import load_scenario, scenario_sha256
    from planner.sweep.run import table_records

    return SweepDocument(
        scenario=str(spec.scenario_path),
        scenario_sha256=scenario_sha256(load_scenario(spec.scenario_path)),
        mode=spec.mode,
        seed=spec.seed,
        params=[SweepParam(path=p.path, values=p.text) for p in spec.params],
        points=len(df),
        rows=table_records(df),
    ).model_dump()


def _document_type(cls: type, drop: tuple[str, ...]) -> type:
    """``cls`` (a dataclass) without the fields that are not serialised, types resolved."""
    hints = typing.get_type_hints(cls)
    kept = [(f.name, hints[f.name]) for f in dataclasses.fields(cls) if f.name not in drop]
    return dataclasses.make_dataclass(cls.__name__, kept)


def document_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one document kind (see ``KINDS``)."""
    if kind == "scenario":
        from planner.scenario.schema import scenario_json_schema

        return scenario_json_schema()
    if kind == "plan":
        from planner.optimize.plan import FleetPlan

        typ, doc = _document_type(FleetPlan, ("dispatch",)), "`planner plan --json` and plan.json"
    elif kind == "buildout":
        from planner.buildout.run import BuildoutPlan

        typ, doc = _document_type(BuildoutPlan, ("decision",)), "`planner buildout --json` and buildout.json"
    elif kind == "validation":
        from planner.validate.metrics import FleetSimResult

        typ, doc = _document_type(FleetSimResult, ()), "`planner validate --json` and validation.json"
    elif kind == "sweep":
        return {**SweepDocument.model_json_schema(), "description": "`planner sweep --json`."}
    else:
        raise ValueError(f"unknown document kind {kind!r}; one of {', '.join(KINDS)}")
    schema = _nullable_numbers(TypeAdapter(typ).json_schema(mode="serialization"))
    return {**schema, "description": doc + "; a number that is not finite (NaN, inf) is written as null."}


def check_document(kind: str, doc: Any, source: str) -> None:
    """Refuse a document whose values do not have the types its schema gives, naming each field.

    Only the keys present are checked (a reader asks for the keys it needs); null stands for a
    number that was not finite; keys the schema does not know are left alone."""
    from planner.errors import ScenarioError

    if kind == "validation":
        from planner.validate.metrics import FleetSimResult as typ
    elif kind == "plan":
        from planner.optimize.plan import FleetPlan as typ
    else:
        raise ValueError(f"no reader check for document kind {kind!r}")
    problems: list[str] = []
    _check_value(doc, typ, kind, problems)
    if problems:
        shown = problems[:12] + ([f"... and {len(problems) - 12} more"] if len(problems) > 12 else [])
        raise ScenarioError(f"{source}: not a valid {kind} document: {len(problems)} problem(s)", shown)


@functools.lru_cache(maxsize=64)
def _adapter(typ: Any) -> TypeAdapter:
    return TypeAdapter(typ)


def _check_value(value: Any, typ: Any, loc: str, problems: list[str]) -> None:
    from pydantic import ValidationError

    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if dataclasses.is_dataclass(typ):
        if not isinstance(value, dict):
            problems.append(f"{loc}: expected a mapping, got {value!r:.60}")
            return
        hints = typing.get_type_hints(typ)
        for f in dataclasses.fields(typ):
            if f.name in value:
                _check_value(value[f.name], hints[f.name], f"{loc}.{f.name}", problems)
        return
    if origin is list and args:
        if not isinstance(value, list):
            problems.append(f"{loc}: expected a list, got {value!r:.60}")
            return
        for i, item in enumerate(value):
            _check_value(item, args[0], f"{loc}[{i}]", problems)
        return
    if origin is dict and len(args) == 2:
        if not isinstance(value, dict):
            problems.append(f"{loc}: expected a mapping, got {value!r:.60}")
            return
        for key, item in value.items():
            _check_value(item, args[1], f"{loc}.{key}", problems)
        return
    if value is None and (typ is float or float in args):
        return  # a number that was not finite
    try:
        _adapter(typ).validate_python(value)
    except ValidationError as exc:
        problems.append(f"{loc}: {exc.errors()[0]['msg']} (got {value!r:.60})")


def _nullable_numbers(node: Any) -> Any:
    """Every ``{"type": "number"}`` also admits null: the writer turns NaN and inf into null."""
    if isinstance(node, dict):
        out = {k: _nullable_numbers(v) for k, v in node.items()}
        if out.get("type") == "number":
            rest = {k: v for k, v in out.items() if k not in ("type", "title", "description")}
            keep = {k: v for k, v in out.items() if k in ("title", "description")}
            return {**keep, "anyOf": [{"type": "number", **rest}, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_nullable_numbers(v) for v in node]
    return node
