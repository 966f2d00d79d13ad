"""Unit economics of a GPU: $/GPU-hour, $ per million tokens, tokens/s per MW, PFLOPS per $/h.

Plain functions on floats (numpy arrays work too); units are in every name.
"""

from __future__ import annotations

import math

HOURS_PER_YEAR = 8760.0
SECONDS_PER_HOUR = 3600.0


def capital_recovery_factor(rate: float, life_years: float) -> float:
    """Share of a capital sum paid each year to repay it with interest over its life. [1/year]

    ``r (1+r)^n / ((1+r)^n - 1) = r / (1 - (1+r)^-n)``, evaluated in the second form (no
    overflow for long lives: it tends to ``r``); at ``r = 0`` it is ``1/n``.
    """
    if life_years <= 0:
        raise ValueError(f"life_years must be positive, got {life_years}")
    if rate < 0:
        raise ValueError(f"rate must be >= 0, got {rate}")
    if rate == 0:
        return 1.0 / life_years
    return rate / -math.expm1(-life_years * math.log1p(rate))


def owned_cost_per_gpu_hour(
    capex_usd_per_gpu: float,
    rate: float,
    life_years: float,
    fixed_opex_usd_per_gpu_year: float,
    power_kw_per_gpu: float,
    pue: float,
    electricity_usd_per_kwh: float,
) -> float:
    """All-in owner cost of a deployed GPU. [$/GPU-hour]

    ``capex * CRF(rate, life) / 8760 + fixed_opex / 8760 + electricity * power * PUE``.
    ``power_kw_per_gpu`` is IT power at full load. [kW]
    """
    capital = capex_usd_per_gpu * capital_recovery_factor(rate, life_years) / HOURS_PER_YEAR
    fixed = fixed_opex_usd_per_gpu_year / HOURS_PER_YEAR
    energy = electricity_usd_per_kwh * power_kw_per_gpu * pue
    return capital + fixed + energy


def cost_per_million_tokens(cost_usd_per_gpu_hour: float, tokens_per_s_per_gpu: float) -> float:
    """``$/GPU-h * 1e6 / (3600 * tokens/s per GPU)``. [$/M tokens]"""
    return cost_usd_per_gpu_hour * 1e6 / (SECONDS_PER_HOUR * tokens_per_s_per_gpu)


def tokens_per_s_per_mw(tokens_per_s_per_gpu: float, facility_kw_per_gpu: float) -> float:
    """Throughput per MW of facility power. [tokens/s per MW]"""
    return tokens_per_s_per_gpu * 1000.0 / facility_kw_per_gpu


def pflops_per_dollar_hour(peak_tflops_per_gpu: float, cost_usd_per_gpu_hour: float) -> float:
    """Peak PFLOPS bought by one $/GPU-hour. [PFLOPS per $/GPU-h]"""
    return peak_tflops_per_gpu / 1000.0 / cost_usd_per_gpu_hour


def gpu_hour_costs(
    *,
    price_usd_per_gpu_hour,
    full_kw_per_gpu,
    idle_kw_per_gpu,
    energy_billed,
    electricity_usd_per_kwh,
    busy_price_usd_per_gpu_hour=0.0,
):
    """The one cost model of a deployed GPU: ``(fixed, busy)`` $ per GPU-hour. [$/GPU-h]

    ``fixed`` is paid for every deployed GPU-hour, busy or idle: the price (an hourly rate, or
    an owned GPU's fixed opex; its capital is charged apart) plus idle energy where electricity
    is billed. ``busy`` is what a busy hour adds: the full-load minus idle energy where billed, plus
    a price paid per busy GPU-hour only (on-demand capacity; 0 otherwise).
    Energy is facility kW x $/kWh. Works element-wise on numpy arrays. Used by the LP, the
    evaluation of plans, the buildout, the validation simulator and the report.
    """
    idle = idle_kw_per_gpu * electricity_usd_per_kwh * energy_billed
    busy = (full_kw_per_gpu - idle_kw_per_gpu) * electricity_usd_per_kwh * energy_billed
    return price_usd_per_gpu_hour + idle, busy + busy_price_usd_per_gpu_hour


# the ledger's lines (``cost_breakdown_usd`` keys) as the human outputs name them
LEDGER_LABELS = {
    "capital": "capital",
    "fixed": "fixed",
    "reserved": "reserved",
    "energy": "energy",
    "on_demand": "on-demand",
    "decommissioning": "decommissioning",
    "early_retirement": "early retirement",
}
