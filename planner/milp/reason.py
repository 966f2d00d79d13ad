"""Why no fleet fits: the one typed diagnosis of `planner plan` and `planner buildout`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Reason:
    """A diagnosis in words and numbers (the JSON ``reason``), the same type for plans and buildouts.

    ``lines`` are the findings, one each (``summary`` joins them); ``checks`` the closed-form
    bounds that prove infeasibility without a solver; ``unserved`` what the caps leave unserved
    (per workload for a plan, per period for a buildout); ``caps_needed`` rows ``{period, cap,
    unit, scope, current, needed, short_by, feasible_when_raised}``: the value each cap would
    need (``scope`` "only": that cap alone, the others as they are; "all": that cap kind raised
    in every period together; "together": every cap of a plan raised at once by the least total
    relative amount, when no cap alone suffices); ``relaxations`` the command's detailed table (a plan: per
    scenario field, and whether the supply limits explain it; a buildout: every row, short or
    not); ``scope`` what the diagnosis ran on when it is not the full problem (time aggregation).
    """

    summary: str
    lines: list[str]
    checks: list[dict[str, Any]] = field(default_factory=list)
    unserved: dict[str, Any] = field(default_factory=dict)
    caps_needed: list[dict[str, Any]] = field(default_factory=list)
    relaxations: dict[str, Any] | list[dict[str, Any]] = field(default_factory=dict)
    first_infeasible_period: str | None = None
    scope: str | None = None
    mode: str | None = None
    elastic: dict[str, Any] | None = None  # a plan's elastic re-solve: unserved per workload and its fleet
