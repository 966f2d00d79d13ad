"""planner: capacity planning for AI inference fleets by cost per delivered token."""

__version__ = "0.1.0"
