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

    app.add_typer(throughput_app, name="throughput")
