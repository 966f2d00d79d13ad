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
