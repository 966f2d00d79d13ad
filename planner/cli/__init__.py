"""The planner command line."""
