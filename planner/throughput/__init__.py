"""Throughput of your own model: benchmark imports and curve files."""
