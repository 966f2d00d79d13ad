"""Demand: load curves, the SimPy demand simulator, trace replay and fitting."""
