"""`planner throughput import`: benchmark results into a curve file."""

from __future__ import annotations

from pathlib import Path

import typer

from planner.cli.output import emit_json, stdout
from planner.errors import ScenarioError
from planner.outputs import write_all_atomic


def register(app: typer.Typer, handled) -> None:
    throughput_app = typer.Typer(
        help="Throughput of your own model: import benchmark results into a curve file.",
        pretty_exceptions_enable=False,
        no_args_is_help=True,
    )

    @throughput_app.command("import")
    @handled
    def import_cmd(
        files: list[Path] = typer.Argument(
            ..., help="Benchmark result files (vLLM, SGLang, AIPerf, genai-perf, InferenceX)."
        ),
        sku: str = typer.Option(None, "--sku", help="SKU the runs were measured on (e.g. h200-sxm)."),
        gpus: int = typer.Option(None, "--gpus", min=1, help="GPUs of the deployment measured (throughput / GPUs)."),
        model: str = typer.Option(None, "--model", help="Model name the scenario's workloads refer to."),
        isl: int = typer.Option(None, "--isl", min=1, help="Input sequence length of the runs. [tokens]"),
        osl: int = typer.Option(None, "--osl", min=1, help="Output sequence length of the runs. [tokens]"),
        precision: str = typer.Option(None, "--precision", help="fp8, fp4, bf16, ..."),
        framework: str = typer.Option(None, "--framework", help="Serving framework and version (default: the format)."),
        fmt: str = typer.Option("auto", "--format", help="auto | vllm | sglang | aiperf | genai-perf | inferencex."),
        all_lines: bool = typer.Option(False, "--all-lines", help="SGLang JSONL: every line (default: the last)."),
        out: Path = typer.Option(..., "--out", help="Curve file to write (created if missing, merged if not)."),
        json_out: bool = typer.Option(False, "--json", help="Print what was imported as one JSON document."),
    ) -> None:
        """Read FILES and add their points to the curve file --out (points already there are kept once)."""
        from planner.throughput.curves import curve_file_text, merge, read_curve_file
        from planner.throughput.imports import Labels, import_points

        if fmt not in ("auto", "vllm", "sglang", "aiperf", "genai-perf", "inferencex"):
            raise ScenarioError(f"--format {fmt}: unknown; use auto, vllm, sglang, aiperf, genai-perf or inferencex")
        labels = Labels(sku, gpus, model, isl, osl, precision, framework)
        new = import_points(list(files), labels, fmt, all_lines=all_lines)
        existing = read_curve_file(out).points if out.exists() else []
        points, added = merge(existing, new)
        write_all_atomic({out: curve_file_text(points)})
        doc = {
            "out": str(out),
            "read": len(new),
            "added": added,
            "already_there": len(new) - added,
            "points": len(points),
            "imported": [p.model_dump() for p in new],
        }
        if json_out:
            emit_json(doc)
            return
        for p in new:
            stdout.print(
                f"{p.source}: {p.sku} {p.model} {p.isl}/{p.osl} {p.precision} ({p.format}): "
                f"{p.interactivity:.4g} tok/s/user, {p.tokens_per_s_per_gpu:,.1f} tokens/s per GPU"
                + (f", TTFT {p.ttft_ms:,.0f} ms" if p.ttft_ms is not None else "")
            )
        stdout.print(f"{out}: {added} point(s) added, {len(new) - added} already there, {len(points)} in all")

    @throughput_app.command("show")
    @handled
    def show_cmd(
        curves_file: Path = typer.Option(None, "--curves", help="A curve file (default: the catalog's workloads)."),
        workload: str = typer.Option(
            None, "--workload", help="Catalog workload id, or with --curves 'MODEL ISL/OSL' (default: the only one)."
        ),
        interactivity: float = typer.Option(
            None,
            "--interactivity",
            help="Target [tok/s/user]; default the catalog workload's (required with --curves).",
        ),
        catalog: Path = typer.Option(None, "--catalog", help="Catalog directory (default: the shipped one)."),
        plot: Path = typer.Option(None, "--plot", help="Draw the frontiers to this PNG file."),
        json_out: bool = typer.Option(False, "--json", help="Print the curves as one JSON document."),
    ) -> None:
        """Each SKU's frontier for a workload: measured points, the frontier and the throughput at the target."""
        from rich.table import Table

        from planner.catalog.load import load_catalog, shipped_catalog, unknown_id_message
        from planner.throughput import show
        from planner.throughput.curves import read_curve_file, require_points, series_for, shapes

        if plot is not None and plot.suffix.lower() != ".png":
            raise ScenarioError(f"--plot {plot}: use a .png file name")
        if interactivity is not None and not 0 < interactivity <= 1e6:
            raise ScenarioError(f"--interactivity {interactivity:g}: give a positive target in tok/s/user")
        extra: dict = {}
        if curves_file is not None:
            if catalog is not None:
                raise ScenarioError("--catalog applies to catalog workloads; a curve file carries its own points")
            cf = read_curve_file(curves_file)
            require_points(curves_file, cf)
            known = shapes(cf.points)
            chosen = workload or (known[0] if len(known) == 1 else None)
            if chosen not in known:
                raise ScenarioError(
                    f"--workload: {'say which shape' if workload is None else repr(workload) + ' is not in the file'}; "
                    f"{curves_file} holds {', '.join(repr(k) for k in known)}"
                )
            if interactivity is None:
                raise ScenarioError("--interactivity: a curve file has no default service level; give the target")
            model, shape = chosen.rsplit(" ", 1)
            isl, osl = (int(v) for v in shape.split("/"))
            series = series_for(cf.points, model=model, isl=isl, osl=osl)
            label, target = chosen, interactivity
            extra = {"curves_file": str(curves_file), "model": model, "isl": isl, "osl": osl}
        else:
            cat = shipped_catalog() if catalog is None else load_catalog(catalog)
            wid = workload or next(iter(cat.workloads))
            if wid not in cat.workloads:
                raise ScenarioError(f"--workload: {unknown_id_message('workload', wid, cat.workloads)}")
            w = cat.workloads[wid]
            series = {}
            for sr in w.series:
                series.setdefault(sr.sku, []).append(sr)
            label = wid
            target = interactivity if interactivity is not None else w.default_interactivity.value
            extra = {"model": w.model, "isl": w.input_tokens, "osl": w.output_tokens}
        rows = show.curves(series, target, label)
        files = {plot: show.plot_png(label, target, rows)} if plot is not None else {}
        write_all_atomic(files)
        if json_out:
            emit_json(show.to_dict(label, target, rows, extra | ({"plot": str(plot)} if plot else {})))
            return
        table = Table(title=f"{label} at {target:g} tok/s/user (total tokens/s per GPU)", title_justify="left")
        for col in ("SKU", "tier", "at target", "basis", "frontier [tok/s/user: tokens/s per GPU]"):
            table.add_column(col, justify="right" if col == "at target" else "left", overflow="fold")
        for r in rows:
            table.add_row(
                r.sku,
                r.tier,
                "-" if r.at_target is None else f"{r.at_target:,.1f}",
                r.basis,
                ", ".join(f"{x:g}: {y:,.0f}" for x, y in r.frontier),
            )
        stdout.print(table)
        if plot is not None:
            stdout.print(f"wrote {plot}")

    app.add_typer(throughput_app, name="throughput")
