"""Rendering helpers of the CLI: JSON on stdout, tables via rich, messages on stderr."""

from __future__ import annotations

import math
import os
import sys
from typing import Any

from rich.console import Console

from planner.outputs import json_text
from planner.units import si  # noqa: F401 (the CLI's human figures)


# emoji off: ":b:" in "a:b:step" or in a user's value must stay text
def _width() -> int:
    """The width tables are laid out for: ``COLUMNS`` when it is a width, else 200 (a pipe or a file)."""
    text = os.environ.get("COLUMNS", "")
    return int(text) if text.isdigit() and 40 <= int(text) <= 1000 else 200


stdout = Console(highlight=False, soft_wrap=False, width=_width(), emoji=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def emit_json(obj: Any) -> None:
    """Write exactly one JSON document to stdout."""
    sys.stdout.write(json_text(obj))
    sys.stdout.flush()


def fmt(value: float, digits: int = 3) -> str:
    """Human number: thousands separators, ``digits`` significant figures for small values."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:,.2f}M"
    if a >= 1e4:
        return f"{value / 1e3:,.1f}K"
    if a >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"
