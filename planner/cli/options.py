"""Option parsing shared by the commands (no command logic here)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
import typer.core

from planner.errors import ScenarioError

if TYPE_CHECKING:
    from pydantic import JsonValue


class PlannerGroup(typer.core.TyperGroup):
    """A command group whose --help option defaults to False, not None.

    Typer coerces every parameter value that is not already a bool through a pydantic
    adapter; a group's unset --help (None) made `planner plan --help` import pydantic and
    build an adapter (0.2 s of a 0.35 s start). A bool default skips that: 0.14 s.

    A subclass with ``default_command`` runs that command when the first argument is not a
    subcommand name (`planner demand scenario.yaml` is `planner demand curve scenario.yaml`)."""

    default_command: str | None = None

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if self.default_command is not None and (
            not args or (args[0] not in self.commands and args[0] not in ("--help", "-h"))
        ):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None and option.default is None:
            option.default = False
        return option


def parse_sets(items: list[str] | None) -> dict[str, JsonValue]:
    """`PATH=VALUE` pairs from --set."""
    from planner.scenario.load import parse_override_value

    out: dict[str, JsonValue] = {}
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


def command_group(help: str, cls: type[PlannerGroup] = PlannerGroup, **extra) -> typer.Typer:
    """A sub-command group as every group here is made: plain help (full option names, units in
    [brackets] kept, no rich start-up cost), errors handled by the commands themselves."""
    return typer.Typer(cls=cls, help=help, pretty_exceptions_enable=False, rich_markup_mode=None, **extra)
