"""One error hierarchy for the whole library.

The CLI maps these to exit codes: ``ScenarioError`` (bad input) -> 2,
``InfeasibleError`` -> 3, ``SolverError`` and anything unexpected -> 1.
Library code raises them; it never prints and never returns ``None`` for failure.
"""

from __future__ import annotations

from typing import Any


class PlannerError(Exception):
    """Base of every error the planner raises on purpose."""

    exit_code = 1


class ScenarioError(PlannerError):
    """Invalid input: a catalog, scenario, curve, trace, plan file or option.

    ``problems`` holds one line per problem found (all of them, not just the first).
    """

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        self.summary = message
        full = message if not self.problems else message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(full)


class InfeasibleError(PlannerError):
    """No fleet satisfies the constraints; ``diagnosis`` says why (JSON-ready)."""

    exit_code = 3

    def __init__(self, message: str, diagnosis: dict[str, Any] | None = None):
        self.diagnosis = diagnosis or {}
        super().__init__(message)


class SolverError(PlannerError):
    """The solver failed to prove optimality or infeasibility (time limit, numerics)."""

    exit_code = 1
