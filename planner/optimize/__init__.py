"""The single-period fleet optimiser: problem, formulation, solve, explain."""
