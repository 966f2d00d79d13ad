"""Option parsing shared by the commands (no command logic here)."""

from __future__ import annotations

import os
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


def folder_problem(folder: Path) -> str | None:
    """Why ``folder`` could not be used or created as a folder (None: it can)."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable" if probe == folder else f"cannot create it: {probe} is not writable"
    return None


def check_out_dir(out: Path | None, holds: str) -> None:
    """--out names a folder (``holds`` says what it will hold): refused before any work when it
    cannot be used or created as one."""
    if out is not None and (why := folder_problem(out)) is not None:
        raise ScenarioError(f"--out {out}: {why}; give a folder (it will hold {holds})")
