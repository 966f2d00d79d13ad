"""`planner diff A B`: two plans (plan documents or scenarios) side by side, with a verdict."""

from __future__ import annotations

import typer

from planner.cli.output import emit_json, stdout
from planner.cli.progress import QUIET, shown


def _fmt(value: float | None, unit: str) -> str:
    from planner.cli.output import si

    return "-" if value is None else si(value, unit)


def _delta(value: float | None, unit: str) -> str:
    from planner.cli.output import si

    if value is None:
        return "-"
    if value == 0:
        return "0"
    return ("+" if value > 0 else "-") + si(abs(value), unit)


def register(app: typer.Typer, handled) -> None:
    @app.command("diff")
    @handled
    def diff_cmd(
        a: str = typer.Argument(..., help="Plan A: plan.json (or its --out folder), or a scenario file or name."),
        b: str = typer.Argument(..., help="Plan B: plan.json (or its --out folder), or a scenario file or name."),
        json_out: bool = typer.Option(False, "--json", help="Print the comparison as one JSON document."),
        quiet: bool = QUIET,
    ) -> None:
        """What B changes against A: fleet per SKU, cost per million tokens, caps and what binds."""
        from rich.table import Table

        import planner.progress as progress
        from planner.diff import diff_plans, read_side

        with shown(quiet):
            with progress.task(f"diff: reading or planning A ({a})"):
                side_a = read_side(a)
            with progress.task(f"diff: reading or planning B ({b})"):
                side_b = read_side(b)
        d = diff_plans(side_a, side_b)
        if json_out:
            emit_json(d.to_dict())
            return
        stdout.print(f"A: {d.a['label']} ({d.a['source']}: {d.a['scenario']}, {d.a['status']})", markup=False)
        stdout.print(f"B: {d.b['label']} ({d.b['source']}: {d.b['scenario']}, {d.b['status']})", markup=False)
        ft = Table(title="fleet (units A -> B)", title_justify="left")
        for col in ("SKU", "units A", "units B", "change", "GPUs change", "MW change", "$/h change"):
            ft.add_column(col, justify="left" if col == "SKU" else "right")
        for c in d.fleet:
            ft.add_row(
                c.sku,
                f"{c.units_a:,.4g}",
                f"{c.units_b:,.4g}",
                f"{c.delta_units:+,.4g} {c.unit}s" if c.delta_units else "same",
                _delta(c.delta_gpus, ""),
                _delta(c.delta_power_mw, "MW"),
                _delta(c.delta_cost_usd_per_hour, "$/h"),
            )
        stdout.print(ft)
        kt = Table(title="key figures", title_justify="left")
        for col in ("", "A", "B", "change", "relative"):
            kt.add_column(col, justify="left" if not col else "right")
        for f in d.figures:
            rel = "-" if f.relative is None else ("0" if f.relative == 0 else f"{f.relative:+.2%}")
            kt.add_row(f.label, _fmt(f.a, f.unit), _fmt(f.b, f.unit), _delta(f.delta, f.unit), rel)
        stdout.print(kt)
        if d.caps:
            ct = Table(title="caps (used of limit; * binds)", title_justify="left")
            for col in ("cap", "A", "B"):
                ct.add_column(col, justify="left" if col == "cap" else "right")
            for c in d.caps:
                cells = []
                for used, limit, bind in ((c.used_a, c.limit_a, c.binding_a), (c.used_b, c.limit_b, c.binding_b)):
                    cells.append(
                        "-"
                        if limit is None
                        else f"{_fmt(used, c.unit)} of {_fmt(limit, c.unit)}" + (" *" if bind else "")
                    )
                ct.add_row(c.name, *cells)
            stdout.print(ct)
        bnd = d.binding
        stdout.print(f"binding: A {', '.join(bnd['a']) or 'none'}; B {', '.join(bnd['b']) or 'none'}", markup=False)
        for note in d.notes:
            stdout.print(f"note: {note}", markup=False)
        stdout.print(f"[bold]{d.verdict}[/]")
