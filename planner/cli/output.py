"""Rendering helpers of the CLI: JSON on stdout, tables via rich, messages on stderr."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from rich.console import Console

stdout = Console(highlight=False, soft_wrap=False, width=200)
stderr = Console(stderr=True, highlight=False)


def jsonable(obj: Any) -> Any:
    """Plain JSON types: NaN and inf become null, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def emit_json(obj: Any) -> None:
    """Write exactly one JSON document to stdout."""
    sys.stdout.write(json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n")
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
