"""`planner report`: one self-contained HTML file for a scenario (and its sweep, validation), or its buildout."""

from __future__ import annotations

from pathlib import Path

import typer

from planner.cli.output import stderr
from planner.cli.progress import QUIET, shown
from planner.errors import ScenarioError
from planner.milp.status import Status
from planner.outputs import write_atomic

SCENARIO_SUFFIXES = (".yaml", ".yml")
RESULTS_SUFFIXES = (".csv", ".json", ".parquet")


def register(app: typer.Typer, handled) -> None:
    @app.command("report")
    @handled
    def report_cmd(
        source: Path = typer.Argument(
            None,
            help="Scenario YAML, or sweep results (.csv/.parquet/.json from planner sweep); "
            "default: the embedded default scenario.",
        ),
        out: Path = typer.Option(Path("report.html"), "--out", "-o", help="HTML file to write."),
        scenario: Path = typer.Option(
            None, "--scenario", help="Scenario to plan when SOURCE is sweep results (default: the one the JSON names)."
        ),
        sweep: Path = typer.Option(None, "--sweep", help="Sweep results to draw frontiers from."),
        validation: Path = typer.Option(None, "--validation", help="Validation results (JSON) to include."),
        allow_mismatch: bool = typer.Option(
            False, "--allow-mismatch", help="Include documents made from another scenario (the difference is printed)."
        ),
        single_period: bool = typer.Option(
            False,
            "--single-period",
            help="A scenario with a buildout: section: report its single-period plan (as `planner plan`), "
            "not the buildout.",
        ),
        quiet: bool = QUIET,
    ) -> None:
        """Write one HTML report: recommendation, fleet, cost per token, caps, load curve, frontiers, sources.

        A scenario with a buildout: section gets the buildout's report: schedule, sites, cost per period, caps
        (--single-period: its single-period plan's report)."""
        import planner.progress as progress
        from planner.report.html import (
            document_mismatches,
            read_sweep_results,
            read_validation,
            render_report,
            report_inputs,
        )
        from planner.scenario.load import load_scenario
        from planner.scenario.shipped import shipped_path

        if out.suffix.lower() not in (".html", ".htm"):
            raise ScenarioError(f"--out {out}: the report is HTML; use a .html file name")
        scenario_path = scenario
        sweep_path = sweep
        if source is not None:
            suffix = source.suffix.lower()
            if suffix in RESULTS_SUFFIXES:
                if sweep is not None:
                    raise ScenarioError(f"{source} is sweep results already; drop --sweep {sweep}")
                sweep_path = source
            elif suffix in SCENARIO_SUFFIXES or (not source.exists() and shipped_path(str(source)) is not None):
                if scenario is not None:
                    raise ScenarioError(f"{source} is a scenario already; drop --scenario {scenario}")
                scenario_path = source
            else:
                raise ScenarioError(
                    f"{source}: give a scenario (.yaml, or a shipped scenario's name) or sweep results (.csv, "
                    ".parquet, .json from planner sweep)"
                )
        results = read_sweep_results(sweep_path) if sweep_path is not None else None
        if scenario_path is None and results is not None and results.scenario:
            scenario_path = Path(results.scenario)
        sf = load_scenario(scenario_path)
        if single_period and sf.scenario.buildout is None:
            raise ScenarioError(
                f"--single-period: {sf.path} has no buildout: section, so its report is the single-period plan's "
                "already; drop the flag"
            )
        if sf.scenario.buildout is not None and not single_period:
            _refuse_for_buildout(sf, sweep_path, validation, allow_mismatch)
            _buildout_report(sf, out, quiet)
            return
        checks = read_validation(validation) if validation is not None else None
        differences = document_mismatches(sf, checks, results)
        if differences and not allow_mismatch:
            raise ScenarioError(
                "the documents belong to another scenario (pass --allow-mismatch to include them anyway)", differences
            )
        for line in differences:
            stderr.print(f"warning (--allow-mismatch): {line}", markup=False, highlight=False)
        with shown(quiet), progress.task("report: planning, charts and tables"):
            inputs = report_inputs(sf, results, checks, str(validation) if validation else None)
            html = render_report(inputs)
        write_atomic(out, html)
        charts = html.count('class="chart"')
        stderr.print(f"wrote {out} ({len(html) / 1024:,.0f} KiB, {charts} charts; status {inputs.plan.status})")
        if inputs.plan.status == Status.INFEASIBLE:
            stderr.print("[bold red]infeasible:[/]", end=" ")
            summary = inputs.plan.reason.summary if inputs.plan.reason else ""
            stderr.print(f"{summary} (the report shows the diagnosis)", markup=False, highlight=False)
            raise typer.Exit(3)


def _refuse_for_buildout(sf, sweep: Path | None, validation: Path | None, allow_mismatch: bool) -> None:
    """A buildout report draws no sweep frontiers and checks no validation: those inputs would do nothing."""
    given = [
        *([f"the sweep results {sweep}"] if sweep is not None else []),
        *([f"--validation {validation}"] if validation is not None else []),
        *(["--allow-mismatch"] if allow_mismatch else []),
    ]
    if given:
        raise ScenarioError(
            f"{sf.path} has a buildout: section, so the report is the buildout's (schedule, sites, cost per "
            f"period, caps), which takes no sweep results or validation document; drop {', '.join(given)} "
            "(sweep and validate plan a single period)"
        )


def _buildout_report(sf, out: Path, quiet: bool) -> None:
    """Plan the buildout as `planner buildout` does and write its report (exit 3 when infeasible)."""
    import planner.progress as progress
    from planner.report.buildout_html import buildout_report_inputs, render_buildout_report

    with shown(quiet):
        inputs = buildout_report_inputs(sf)
        with progress.task("report: buildout schedule, charts and tables"):
            html = render_buildout_report(inputs)
    write_atomic(out, html)
    charts = html.count('class="chart"')
    plan = inputs.plan
    stderr.print(f"wrote {out} ({len(html) / 1024:,.0f} KiB, {charts} charts; buildout status {plan.status})")
    if plan.status == Status.INFEASIBLE:
        stderr.print("[bold red]infeasible:[/] (the report shows the diagnosis)")
        for line in plan.reason.lines if plan.reason else []:
            stderr.print(f"  {line}", markup=False, highlight=False)
        raise typer.Exit(3)
