"""One error hierarchy for the whole library.

The CLI maps these to exit codes: ``ScenarioError`` (bad input) -> 2, ``SolverLimitError``
(a time or iteration limit reached with no feasible answer) -> 4, ``SolverError`` and anything
unexpected -> 1. Infeasible is not an error but an answer: a plan with status
``infeasible`` and its diagnosis, which the commands turn into exit code 3.
Library code raises them; it never prints and never returns ``None`` for failure.
"""

from __future__ import annotations


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


class SolverError(PlannerError):
    """The solver failed to prove optimality or infeasibility (time limit, numerics)."""

    exit_code = 1


class SolverLimitError(SolverError):
    """A solver limit (time, iterations) stopped the solve before any feasible answer: not a defect."""

    exit_code = 4
