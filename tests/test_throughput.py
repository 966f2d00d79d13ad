"""Interpolation of throughput over interactivity: frontier, edges, monotonicity."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.catalog.schema import Series
from planner.catalog.throughput import pareto_frontier, throughput_at
from planner.errors import ScenarioError


def series(points, precision="fp8"):
    return Series(sku="x", precision=precision, framework="f", measured="2026", source="s", points=points)


CURVE = [series([[10, 1000], [20, 800], [40, 200]])]


def test_exact_point_is_measured():
    op = throughput_at(CURVE, 20, sku="x", workload="w")
    assert op.tokens_per_s_per_gpu == 800
    assert op.basis == "measured"


def test_below_range_uses_first_point_and_says_so():
    op = throughput_at(CURVE, 5, sku="x", workload="w")
    assert op.tokens_per_s_per_gpu == 1000
    assert "10 tok/s/user (above target)" in op.basis


def test_above_range_is_an_error_naming_the_range():
    with pytest.raises(ScenarioError, match=r"spans 10-40 tok/s/user"):
        throughput_at(CURVE, 41, sku="x", workload="w")


def test_between_points_log_pchip():
    # Two points only: PCHIP in log space is the geometric interpolation.
    two = [series([[10, 1000], [30, 10]])]
    op = throughput_at(two, 20, sku="x", workload="w")
    assert op.tokens_per_s_per_gpu == pytest.approx(math.sqrt(1000 * 10))
    assert "interpolated between 10 and 30" in op.basis


def test_dominated_points_are_dropped():
    mixed = [series([[10, 500], [20, 800]]), series([[15, 100]], precision="fp4")]
    frontier = pareto_frontier(mixed)
    assert [(p.interactivity, p.tokens_per_s_per_gpu) for p in frontier] == [(20, 800)]
    # a target below 20 is served by the 20 tok/s/user config at 800
    assert throughput_at(mixed, 12, sku="x", workload="w").tokens_per_s_per_gpu == 800


def test_no_data_is_an_error():
    with pytest.raises(ScenarioError, match="no measured throughput"):
        throughput_at([], 10, sku="x", workload="w")


@given(
    pts=st.lists(st.tuples(st.floats(1, 300), st.floats(1, 50_000)), min_size=2, max_size=8, unique_by=lambda p: p[0]),
    a=st.floats(0.5, 300),
    b=st.floats(0.5, 300),
)
def test_throughput_never_rises_with_interactivity(pts, a, b):
    curve = [series([list(p) for p in pts])]
    hi = max(p[0] for p in pts)
    lo_t, hi_t = sorted((min(a, hi), min(b, hi)))
    y_lo = throughput_at(curve, lo_t, sku="x", workload="w").tokens_per_s_per_gpu
    y_hi = throughput_at(curve, hi_t, sku="x", workload="w").tokens_per_s_per_gpu
    assert y_hi <= y_lo * (1 + 1e-9)
    # interpolation stays between the frontier neighbours: at least the best point meeting the
    # target, at most the best point of any config (nothing is invented beyond the data)
    assert y_lo >= max(y for x, y in pts if x >= lo_t - 1e-9) * (1 - 1e-9)
    assert y_lo <= max(y for _, y in pts) * (1 + 1e-9)
