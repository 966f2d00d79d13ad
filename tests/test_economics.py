"""Economics against hand-computed numbers (the arithmetic stays in the assertions)."""

from __future__ import annotations

import pytest

from planner.economics import (
    capital_recovery_factor,
    cost_per_million_tokens,
    owned_cost_per_gpu_hour,
    pflops_per_dollar_hour,
    tokens_per_s_per_mw,
)


def test_crf_hand_computed():
    assert capital_recovery_factor(0.10, 4) == pytest.approx(0.10 * 1.1**4 / (1.1**4 - 1))
    assert capital_recovery_factor(0.10, 4) == pytest.approx(0.315471, abs=1e-6)
    assert capital_recovery_factor(0.0, 5) == pytest.approx(1 / 5)


def test_crf_rejects_bad_inputs():
    with pytest.raises(ValueError):
        capital_recovery_factor(0.1, 0)
    with pytest.raises(ValueError):
        capital_recovery_factor(-0.1, 4)


def test_owned_cost_reference_cross_check():
    # REFERENCE.md 4: H100 $46k all-in, 10 %, 4 years, 1.73 kW, $0.08/kWh -> about $1.79/h.
    # Here power is IT kW x PUE, so 1.73 kW all-in = 1.330769 kW IT x PUE 1.3.
    cost = owned_cost_per_gpu_hour(46_000, 0.10, 4, 0.0, 1.73 / 1.3, 1.3, 0.08)
    assert cost == pytest.approx(46_000 * 0.315471 / 8760 + 0.08 * 1.73, rel=1e-5)
    assert cost == pytest.approx(1.79, abs=0.01)


def test_owned_cost_fixed_opex():
    assert owned_cost_per_gpu_hour(0, 0.0, 1, 8760.0, 0.0, 1.0, 0.0) == pytest.approx(1.0)


def test_cost_per_million_tokens_nvidia_figures():
    assert cost_per_million_tokens(1.41, 93.3) == pytest.approx(1.41 * 1e6 / (3600 * 93.3))
    assert cost_per_million_tokens(1.41, 93.3) == pytest.approx(4.20, abs=0.005)
    assert cost_per_million_tokens(2.652, 5930) == pytest.approx(0.124, abs=0.001)


def test_tokens_per_mw_and_flops():
    assert tokens_per_s_per_mw(93.3, 1.73) == pytest.approx(93.3 * 1000 / 1.73)
    assert tokens_per_s_per_mw(5930, 2.10) == pytest.approx(2.824e6, rel=1e-3)
    assert pflops_per_dollar_hour(3958, 1.41) == pytest.approx(3.958 / 1.41)
    assert pflops_per_dollar_hour(15000, 2.652) == pytest.approx(15 / 2.652)
