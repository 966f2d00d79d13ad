"""Scenario files: schema and loading."""
