"""`planner throughput import | show | estimate | accuracy`: your model's throughput."""

from __future__ import annotations

from pathlib import Path

import typer

from planner.cli.options import command_group
from planner.cli.output import emit_json, stdout
from planner.cli.progress import QUIET, shown
from planner.errors import ScenarioError
from planner.outputs import write_all_atomic


def register(app: typer.Typer, handled) -> None:
    throughput_app = command_group(
        "Throughput of your own model: import benchmark results, show frontiers, estimate GPUs you have "
        "not measured (with bands), and the estimator's held-out error.",
        no_args_is_help=True,
    )

    @throughput_app.command("import")
    @handled
    def import_cmd(
        files: list[Path] = typer.Argument(
            ..., help="Benchmark result files (vLLM, SGLang, AIPerf, genai-perf JSON or CSV, InferenceX)."
        ),
        sku: str = typer.Option(None, "--sku", help="SKU the runs were measured on (e.g. h200-sxm)."),
        gpus: int = typer.Option(None, "--gpus", min=1, help="GPUs of the deployment measured (throughput / GPUs)."),
        model: str = typer.Option(None, "--model", help="Model name the scenario's workloads refer to."),
        isl: int = typer.Option(None, "--isl", min=1, help="Input sequence length of the runs. [tokens]"),
        osl: int = typer.Option(None, "--osl", min=1, help="Output sequence length of the runs. [tokens]"),
        precision: str = typer.Option(None, "--precision", help="fp8, fp4, bf16, ..."),
        framework: str = typer.Option(
            None, "--framework", help="Serving framework and version (default: the file's, else the format)."
        ),
        fmt: str = typer.Option("auto", "--format", help="auto | vllm | sglang | aiperf | genai-perf | inferencex."),
        all_lines: bool = typer.Option(False, "--all-lines", help="SGLang JSONL: every line (default: the last)."),
        out: Path = typer.Option(..., "--out", help="Curve file to write (created if missing, merged if not)."),
        json_out: bool = typer.Option(False, "--json", help="Print what was imported as one JSON document."),
        new_sku: bool = typer.Option(
            False, "--new-sku", help="The SKU is new hardware, not a catalog SKU (an id close to one is refused)."
        ),
    ) -> None:
        """Read FILES and add their points to the curve file --out (points already there are kept once)."""
        from planner.throughput.curves import curve_file_text, merge, read_curve_file
        from planner.throughput.imports import Labels, check_new_skus, import_notes, import_points

        if fmt not in ("auto", "vllm", "sglang", "aiperf", "genai-perf", "inferencex"):
            raise ScenarioError(f"--format {fmt}: unknown; use auto, vllm, sglang, aiperf, genai-perf or inferencex")
        labels = Labels(sku, gpus, model, isl, osl, precision, framework)
        new = import_points(list(files), labels, fmt, all_lines=all_lines)
        check_new_skus(new, new_sku)
        notes = import_notes(new)
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
            "notes": notes,
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
        for note in notes:
            stdout.print(f"note: {note}")

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
        from planner.throughput.curves import pick_shape, read_curve_file, require_points, series_for

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
            model, isl, osl = pick_shape(cf.points, workload, curves_file)
            if interactivity is None:
                raise ScenarioError("--interactivity: a curve file has no default service level; give the target")
            series = series_for(cf.points, model=model, isl=isl, osl=osl)
            label, target = f"{model} {isl}/{osl}", interactivity
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

    @throughput_app.command("estimate")
    @handled
    def estimate_cmd(
        curves_file: Path = typer.Option(..., "--curves", help="Curve file with your measured points."),
        to: str = typer.Option(..., "--to", help="SKUs to estimate, comma-separated (e.g. b200-sxm,gb300-nvl72)."),
        model_config: Path = typer.Option(
            None, "--model-config", help="The model's Hugging Face config.json (default: a reference model's)."
        ),
        workload: str = typer.Option(None, "--workload", help="'MODEL ISL/OSL' in the file (default: the only one)."),
        interactivity: str = typer.Option(
            "20,35,50,75", "--interactivity", help="Targets, comma-separated. [tok/s/user]"
        ),
        catalog: Path = typer.Option(None, "--catalog", help="Catalog directory (default: the shipped one)."),
        json_out: bool = typer.Option(False, "--json", help="Print the estimates as one JSON document."),
    ) -> None:
        """Throughput on SKUs you have not measured, each number with its tier (measured, transfer,
        roofline) and band; see `planner throughput accuracy` for the error behind the bands."""
        from rich.table import Table

        from planner.catalog.load import load_catalog, shipped_catalog
        from planner.throughput.curves import pick_shape, read_curve_file, require_points
        from planner.throughput.estimate import estimate, model_config_for

        xs = _targets(interactivity)
        skus = [s.strip() for s in to.split(",") if s.strip()]
        if not skus:
            raise ScenarioError("--to: name at least one SKU")
        if len(set(skus)) < len(skus):
            raise ScenarioError(f"--to {to!r}: a SKU is named twice")
        cf = read_curve_file(curves_file)
        require_points(curves_file, cf)
        model, isl, osl = pick_shape(cf.points, workload, curves_file)
        cfg = model_config_for(model, model_config)
        cat = shipped_catalog() if catalog is None else load_catalog(catalog)
        est = estimate(cf.points, cfg, model=model, isl=isl, osl=osl, to=skus, interactivity=xs, catalog=cat)
        if json_out:
            emit_json(est.to_dict())
            return
        table = Table(
            title=f"{model} {isl}/{osl}: total tokens/s per GPU [band]", title_justify="left", show_lines=False
        )
        for col in ("SKU", "tier", "tok/s/user", "estimate", "low", "high", "basis"):
            table.add_column(
                col, justify="right" if col in ("tok/s/user", "estimate", "low", "high") else "left", overflow="fold"
            )
        for c in est.curves:
            if not c.points:
                table.add_row(c.sku, c.tier, "-", "-", "-", "-", "see notes")
            for p in c.points:
                table.add_row(
                    c.sku,
                    p.tier,
                    f"{p.interactivity:g}",
                    f"{p.tokens_per_s_per_gpu:,.1f}",
                    f"{p.low:,.1f}",
                    f"{p.high:,.1f}",
                    p.basis,
                )
        stdout.print(table)
        for n in est.notes:
            stdout.print(f"note: {n}")

    @throughput_app.command("accuracy")
    @handled
    def accuracy_cmd(
        json_out: bool = typer.Option(False, "--json", help="Print the report as one JSON document."),
        protocol: str = typer.Option(
            "loo",
            "--protocol",
            help="loo: leave-one-model-out over reference questions; user: a model's points on SKU A predict SKU "
            "B's step frontier, overloaded points dropped, the median-ratio baseline beside it, bootstrap CIs.",
        ),
        seed: int = typer.Option(0, "--seed", min=0, help="--protocol user: seed of the bootstrap over models."),
        draws: int = typer.Option(2000, "--draws", min=1, max=100_000, help="--protocol user: bootstrap resamples."),
        quiet: bool = QUIET,
    ) -> None:
        """The estimator's held-out error: leave-one-model-out over the shipped reference set, or
        (--protocol user) as a user meets it, beside a naive median-ratio baseline."""
        from rich.table import Table

        from planner.catalog.load import shipped_catalog
        from planner.throughput.accuracy import accuracy

        if protocol not in ("loo", "user"):
            raise ScenarioError(f"--protocol {protocol!r}: give loo or user")
        cat = shipped_catalog()
        prices = {k: s.pricing.hyperscaler.value for k, s in cat.skus.items()}
        if protocol == "user":
            _user_accuracy(cat, prices, seed=seed, draws=draws, json_out=json_out, quiet=quiet)
            return
        with shown(quiet):
            rep = accuracy(prices)
        if json_out:
            emit_json(rep)
            return

        def pct(v) -> str:
            return "-" if v is None else f"{100 * v:.0f} %"

        table = Table(
            title=f"Leave-one-model-out, {rep['questions']} questions at {', '.join(f'{x:g}' for x in rep['interactivity'])} "
            "tok/s/user (absolute % error of tokens/s per GPU)",
            title_justify="left",
        )
        for col in ("slice", "n", "median", "p75", "p90", "band holds", "band half-width"):
            table.add_column(col, justify="left" if col == "slice" else "right")
        rows = [("all", rep["overall"]), ("same serving backend on A and B", rep["same_backend"])]
        rows += [(f"tier {t}", v) for t, v in rep["by_tier"].items()]
        rows += [(f"model {m}", v) for m, v in rep["by_model"].items()]
        rows += [(f"{p['from']} -> {p['to']}", p) for p in rep["by_pair"]]
        rows += [("baseline: median reference ratio", rep["baseline_median_ratio"])]
        rows += [("floor: each model's own correction known", rep["oracle_model_correction"])]
        for name, v in rows:
            table.add_row(
                name,
                str(v["n"]),
                pct(v["median_ape"]),
                pct(v["p75_ape"]),
                pct(v["p90_ape"]),
                pct(v.get("band_coverage")),
                pct(v.get("median_band_half_width")),
            )
        stdout.print(table)
        for label, g in (("", rep["regret"]), (" (same backend)", rep["same_backend"]["regret"])):
            if g.get("decisions"):
                stdout.print(
                    f"decision regret{label} over {g['decisions']} decisions: cheapest-per-token SKU within 10 % of "
                    f"the truly cheapest in {pct(g['within_10pct'])}; median regret {pct(g['median_regret'])}, "
                    f"p90 {pct(g['p90_regret'])}"
                )

    app.add_typer(throughput_app, name="throughput")


def _user_accuracy(cat, prices: dict[str, float], *, seed: int, draws: int, json_out: bool, quiet: bool) -> None:
    """`planner throughput accuracy --protocol user`: run and render."""
    import numpy as np
    from rich.table import Table

    from planner.throughput.reference import reference_configs, reference_points
    from planner.throughput.user_accuracy import shipped_estimator, user_accuracy

    with shown(quiet):
        rep = user_accuracy(
            reference_points(),
            shipped_estimator(cat, reference_configs()),
            prices,
            rng=np.random.default_rng(seed),
            seed=seed,
            draws=draws,
        )
    if json_out:
        emit_json(rep)
        return

    def pct(v) -> str:
        return "-" if v is None else f"{100 * v:.0f} %"

    def fig(f) -> str:
        ci = f["ci"]
        return pct(f["value"]) + ("" if ci is None else f" [{pct(ci[0])}, {pct(ci[1])}]")

    level = f"{100 * rep['ci_level']:.0f} %"
    table = Table(
        title=f"As a user meets it: {rep['cases']} cases ({len(rep['models'])} models; a model's points on A predict "
        f"B's step frontier at {', '.join(f'{x:g}' for x in rep['interactivity'])} tok/s/user; time to first token "
        f"> {rep['overloaded_ttft_ms'] / 1000:g} s dropped). Absolute % error, [{level} CI, bootstrap over models, "
        f"seed {rep['seed']}, {rep['draws']} draws]",
        title_justify="left",
    )
    for col in ("method", "errors over", "n", "median", "p75", "p90"):
        table.add_column(col, justify="left" if col in ("method", "errors over") else "right")
    for name in ("estimator", "baseline"):
        m = rep[name]
        for label, key, n in (
            ("answered cases", "errors", m["answered"]),
            ("every case, refusal = 100 %", "errors_with_refusals_as_100pct", m["cases"]),
            ("cases both answered", "errors_on_cases_both_answered", None),
        ):
            f = m[key]
            table.add_row(
                name, label, "-" if n is None else str(n), fig(f["median_ape"]), fig(f["p75_ape"]), fig(f["p90_ape"])
            )
    stdout.print(table)
    for name in ("estimator", "baseline"):
        m, d = rep[name], rep[name]["decisions"]
        stdout.print(
            f"{name}: {m['refused']} of {m['cases']} refused; band holds the truth in {pct(m['band_coverage'])} at a "
            f"median half-width of {pct(m['median_band_half_width'])}; cheapest SKU within 10 % in "
            f"{d['within_10pct']} of {d['decisions']} decisions ({d['no_pick']} with no pick)"
        )
    diff = rep["median_difference_with_refusals"]
    stdout.print(f"median error, refusals as 100 %: estimator - baseline = {fig(diff)}")
    pairs = Table(title="Per SKU pair: reference models measured on both, and median errors", title_justify="left")
    for col in ("A -> B", "models", "cases", "estimator", "baseline", "refused (est / base)"):
        pairs.add_column(col, justify="left" if col == "A -> B" else "right")
    for p in rep["by_pair"]:
        pairs.add_row(
            f"{p['a']} -> {p['b']}",
            str(p["models"]),
            str(p["cases"]),
            pct(p["estimator_median_ape"]),
            pct(p["baseline_median_ape"]),
            f"{p['estimator_refused']} / {p['baseline_refused']}",
        )
    stdout.print(pairs)


def _targets(text: str) -> list[float]:
    try:
        xs = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ScenarioError(f"--interactivity {text!r}: give numbers separated by commas, e.g. 20,35,50") from None
    if not xs or any(not 0 < x <= 1e6 for x in xs):
        raise ScenarioError(f"--interactivity {text!r}: give positive, finite targets up to 1e6 tok/s/user")
    if len(set(xs)) < len(xs):
        raise ScenarioError(f"--interactivity {text!r}: a target is given twice")
    return xs
