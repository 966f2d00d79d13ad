"""Option parsing shared by the commands (no command logic here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planner.errors import ScenarioError
from planner.scenario.load import parse_override_value


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """`PATH=VALUE` pairs from --set."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ScenarioError(f"--set expects PATH=VALUE (e.g. constraints.power_cap_mw=20), got '{item}'")
        key, value = item.split("=", 1)
        out[key.strip()] = parse_override_value(value)
    return out


def check_out_dir(out: Path | None, holds: str) -> None:
    """--out names a folder (``holds`` says what it will hold): refused before any work when it is a file."""
    if out is not None and out.exists() and not out.is_dir():
        raise ScenarioError(f"--out {out}: a file is there; give a folder (it will hold {holds})")
