"""Human figures in SI style, for tables, messages and verdicts (no heavy imports)."""

from __future__ import annotations

import math

PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
SCALED = {"", "tokens", "tokens/s", "$", "$/h", "$/year", "GPUs", "GPU-hours", "requests"}  # take a prefix


def si(value: float | None, unit: str = "", digits: int = 3) -> str:
    """Human figure in SI style: "15.3 T tokens", "$1.97 M", "$11.7 k/h", "9.99 MW", "$0.1285/M tokens".

    Counts, tokens and money take a prefix (k, M, G, T, P) at ``digits`` significant figures;
    MW, hours and prices per token keep their unit (a price per token shows 4 figures)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    money = unit.startswith("$")
    rest = unit[1:] if money else unit
    if unit == "$/M tokens":
        return f"{'-' if value < 0 else ''}${_figures(abs(value), 4)}/M tokens"
    number, prefix = float(value), ""
    if unit in SCALED:
        for scale, p in PREFIXES:
            if abs(number) >= scale:
                number, prefix = number / scale, p
                break
    if not prefix and unit in SCALED and abs(number) >= 1 and float(number).is_integer():
        text = f"{number:,.0f}"
    else:
        text = f"{number:.{digits}g}"
        if "e" in text and abs(number) >= 1:  # 999.6 at 3 figures: no exponent, whole number
            text = f"{number:,.0f}"
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-")
    if money:  # "$1.97 M", "$11.7 k/h", "$360/h"
        return f"{sign}${text}" + (f" {prefix}{rest}" if prefix else rest)
    if prefix:  # "15.3 T tokens", "1.59 k GPUs", "12.4 k"
        return f"{sign}{text} {prefix}" + (f" {rest}" if rest else "")
    return f"{sign}{text} {rest}" if rest else f"{sign}{text}"


def _figures(value: float, digits: int) -> str:
    """``value`` >= 0 to ``digits`` significant figures, never in exponent form (0.00006851)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(digits - 1 - math.floor(math.log10(value)), 0)
    return f"{value:.{decimals}f}"


def percent(share: float, digits: int = 2) -> str:
    """A signed relative change as "-3.1 %" (``digits`` significant figures)."""
    return f"{share * 100:+.{digits}g} %"
