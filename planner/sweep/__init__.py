"""Scenario sweeps over any field, local or on Dask, and Pareto frontiers."""
