"""The status of a solve and of a plan, one vocabulary for every result (as linopy's status model)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """``optimal``: proven within the stated MIP gap; ``time_limit``: stopped by a solver limit with
    a feasible answer and its gap; ``infeasible``: no fleet satisfies the constraints (with a
    diagnosis); ``error``: the solver failed (numerics), or an input of a sweep point was invalid."""

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    INFEASIBLE = "infeasible"
    ERROR = "error"
