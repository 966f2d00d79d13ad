"""`planner scenarios`: the shipped scenarios by name; `planner scenarios copy NAME DIR` to edit one."""

from __future__ import annotations

from pathlib import Path

import typer

from planner.cli.options import PlannerGroup, command_group
from planner.cli.output import emit_json, stderr, stdout


class ScenariosGroup(PlannerGroup):
    """`planner scenarios` with no subcommand lists them."""

    default_command = "list"


def register(app: typer.Typer, handled) -> None:
    scenarios_app = command_group(
        "Shipped scenarios: list them (default command `list`), or copy one to edit (`copy NAME DIR`). "
        "Every command takes a shipped scenario's name in place of a file, from any directory.",
        ScenariosGroup,
    )

    @scenarios_app.command("list")
    @handled
    def list_cmd(json_out: bool = typer.Option(False, "--json", help="Print the list as one JSON document.")) -> None:
        """List the shipped scenarios with one-line descriptions."""
        from rich.table import Table

        from planner.scenario.shipped import shipped_scenarios

        found = shipped_scenarios()
        if json_out:
            emit_json([s.to_dict() for s in found])
            return
        table = Table(title="shipped scenarios (`planner plan NAME`, `planner scenarios copy NAME DIR`)")
        for col in ("name", "for", "description"):
            table.add_column(col, overflow="fold")
        for s in found:
            table.add_row(s.name, s.command, s.description or s.title)
        stdout.print(table)

    @scenarios_app.command("copy")
    @handled
    def copy_cmd(
        name: str = typer.Argument(..., help="Shipped scenario name (see `planner scenarios`)."),
        folder: Path = typer.Argument(..., help="Folder to write it into (created if missing)."),
        force: bool = typer.Option(False, "--force", help="Overwrite files that already exist there."),
    ) -> None:
        """Write a shipped scenario, with the curve, trace and demand files it uses, into FOLDER."""
        from planner.scenario.shipped import copy_scenario

        for path in copy_scenario(name, folder, force=force):
            stderr.print(f"wrote {path}", markup=False, highlight=False)

    app.add_typer(scenarios_app, name="scenarios")
