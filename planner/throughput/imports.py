"""Reading benchmark result files into curve points (``planner throughput import``).

Formats and the keys read (a point is total (input + output) tokens/s divided by the GPUs
of the deployment, and interactivity = 1000 / median TPOT):

* ``vllm``: ``vllm bench serve --save-result`` JSON (and the older ``benchmark_serving.py``):
  ``total_token_throughput``, ``median_tpot_ms``, ``median_ttft_ms``; ``p99_ttft_ms``,
  ``max_concurrency``, ``output_throughput``, ``completed``, ``failed`` when present. Values
  given with ``--metadata key=value`` (top-level keys ``sku``, ``gpus``, ``model``, ``isl``,
  ``osl``, ``precision``, ``framework``) fill flags that are not given.
* ``sglang``: ``bench_serving`` JSONL, one run per line (the last line, or every line):
  ``total_throughput`` (older versions: ``input_throughput + output_throughput``),
  ``median_tpot_ms``, ``median_ttft_ms``; ``completed``, ``max_concurrency`` when present.
* ``aiperf`` (``profile_export_aiperf.json``) and ``genai-perf``
  (``profile_export_genai_perf.json``): ``total_isl``, ``total_osl``, ``benchmark_duration``
  (seconds), ``inter_token_latency.p50``, ``time_to_first_token.p50``, ``request_throughput``;
  ``request_count`` and ``error_request_count`` when present.
* ``inferencex``: a JSON array of rows with ``tput_per_gpu`` (already per GPU),
  ``median_intvty`` and ``median_ttft`` (seconds).

A file whose format cannot be told, that lacks a key, whose requests mostly failed, or with
a non-positive figure is refused naming the file and the key.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from planner.errors import ScenarioError
from planner.limits import read_text_bounded
from planner.throughput.curves import CurvePoint

FORMATS = ("vllm", "sglang", "aiperf", "genai-perf", "inferencex")
METADATA_KEYS = ("sku", "gpus", "model", "isl", "osl", "precision", "framework")


@dataclass(frozen=True)
class Labels:
    """What the result files do not say: the flags of ``planner throughput import``."""

    sku: str | None
    gpus: int | None
    model: str | None
    isl: int | None
    osl: int | None
    precision: str | None
    framework: str | None


@dataclass(frozen=True, kw_only=True)
class Run:
    """One benchmark run as read from a file (per deployment, not yet per GPU)."""

    total_tokens_per_s: float  # per GPU when ``per_gpu`` [tokens/s]
    tpot_ms: float
    ttft_ms: float | None
    p99_ttft_ms: float | None
    concurrency: float | None
    # labels the file gives (vLLM --metadata: keys of METADATA_KEYS), as written there; checked in import_points
    metadata: dict[str, JsonValue]
    per_gpu: bool = False  # the file's throughput is already per GPU (InferenceX)


def _load(path: Path) -> tuple[str, Any]:
    """The file's text and its JSON (a document, or a list of JSONL documents)."""
    if not path.is_file():
        raise ScenarioError(f"benchmark result file not found: {path}")
    text = read_text_bounded(path, "benchmark result file", encoding="utf-8-sig")
    try:
        return text, json.loads(text)
    except json.JSONDecodeError:
        pass
    lines = [line for line in text.splitlines() if line.strip()]
    try:
        docs = [json.loads(line) for line in lines]
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}: not JSON or JSON lines ({exc}); give a benchmark result file") from None
    if not docs:
        raise ScenarioError(f"{path}: the file is empty")
    return text, {"__jsonl__": docs}


def detect(path: Path, data: Any) -> str:
    """The format of a parsed file, from its keys."""
    if isinstance(data, dict) and "__jsonl__" in data:
        return "sglang"
    if isinstance(data, list) and data and all(isinstance(r, dict) and "tput_per_gpu" in r for r in data):
        return "inferencex"
    if isinstance(data, dict):
        if "total_throughput" in data or ("input_throughput" in data and "total_token_throughput" not in data):
            return "sglang"
        if "total_token_throughput" in data:
            return "vllm"
        if "inter_token_latency" in data and ("benchmark_duration" in data or "total_isl" in data):
            name = path.name.lower()
            return "genai-perf" if "genai" in name else "aiperf"
        if "inter_token_latency" in data and "input_sequence_length" in data:
            return "genai-perf"  # genai-perf's own export (profile_export_genai_perf.json)
    raise ScenarioError(
        f"{path}: cannot tell the format of this file (none of the keys of vLLM, SGLang, AIPerf, genai-perf or "
        "InferenceX results); give --format vllm|sglang|aiperf|genai-perf|inferencex"
    )


def _number(path: Path, doc: dict, key: str, *, where: str = "", positive: bool = True) -> float:
    """``doc[key]`` as a finite number (> 0 when ``positive``), or an error naming file and key."""
    at = f"{where}{key}"
    if key not in doc or doc[key] is None:
        raise ScenarioError(f"{path}: key '{at}' is missing; is this the right --format?")
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{path}: key '{at}' is {value!r}, not a number")
    if positive and value <= 0:
        raise ScenarioError(f"{path}: key '{at}' is {value:g}; a measured figure must be positive")
    return float(value)


def _optional(path: Path, doc: dict, key: str, where: str = "") -> float | None:
    if doc.get(key) is None:
        return None
    return _number(path, doc, key, where=where, positive=False)


def _failures(path: Path, completed: float | None, failed: float | None, where: str = "") -> None:
    """Refuse a run whose requests mostly failed."""
    if completed is not None and completed <= 0:
        raise ScenarioError(f"{path}: {where}completed is {completed:g}: no request finished, so nothing was measured")
    if completed is None or failed is None:
        return
    if failed > 0 and failed >= completed:
        raise ScenarioError(
            f"{path}: {where}{failed:g} requests failed against {completed:g} completed; the throughput of a run "
            "that mostly failed is not a measurement"
        )


def _stat(path: Path, doc: dict, key: str, stat: str) -> float:
    """AIPerf / genai-perf: ``doc[key][stat]``."""
    node = doc.get(key)
    if not isinstance(node, dict):
        raise ScenarioError(f"{path}: key '{key}' is missing or not a statistics mapping; is this the right --format?")
    return _number(path, node, stat, where=f"{key}.")


def _genai_perf_run(path: Path, data: dict) -> Run:
    """genai-perf's own export: per-request ``input_sequence_length`` / ``output_sequence_length``
    statistics and the benchmark's ``request_throughput``, so total tokens/s = requests/s x (mean
    input + mean output tokens); ITL and TTFT medians in ms; ``input_config`` gives the model and
    the concurrency when it names them."""
    isl = _stat(path, data, "input_sequence_length", "avg")
    osl = _stat(path, data, "output_sequence_length", "avg")
    rate = _stat(path, data, "request_throughput", "avg")
    config = data.get("input_config") if isinstance(data.get("input_config"), dict) else {}
    conc = config.get("concurrency")
    models = config.get("model")
    model = models[0] if isinstance(models, list) and len(models) == 1 else models
    return Run(
        total_tokens_per_s=rate * (isl + osl),
        tpot_ms=_stat(path, data, "inter_token_latency", "p50"),
        ttft_ms=_stat(path, data, "time_to_first_token", "p50"),
        p99_ttft_ms=_optional(path, data["time_to_first_token"], "p99", "time_to_first_token."),
        concurrency=float(conc) if isinstance(conc, int | float) and not isinstance(conc, bool) and conc > 0 else None,
        metadata={"model": model} if isinstance(model, str) and model else {},
    )


def runs(path: Path, fmt: str = "auto", *, all_lines: bool = False) -> tuple[str, list[Run]]:
    """The runs a result file holds, and its format."""
    _, data = _load(path)
    fmt = detect(path, data) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise ScenarioError(f"--format {fmt}: unknown; use auto, {', '.join(FORMATS)}")
    if fmt == "sglang":
        docs = data["__jsonl__"] if isinstance(data, dict) and "__jsonl__" in data else [data]
        if not all(isinstance(d, dict) for d in docs):
            raise ScenarioError(f"{path}: an SGLang result line is not a JSON object")
        chosen = docs if all_lines else docs[-1:]
        out = []
        for d in chosen:
            where = f"line {docs.index(d) + 1}: " if len(docs) > 1 else ""
            if "total_throughput" in d:
                total = _number(path, d, "total_throughput", where=where)
            else:
                total = _number(path, d, "input_throughput", where=where) + _number(
                    path, d, "output_throughput", where=where
                )
            _failures(path, _optional(path, d, "completed"), _optional(path, d, "failed"), where)
            out.append(
                Run(
                    total_tokens_per_s=total,
                    tpot_ms=_number(path, d, "median_tpot_ms", where=where),
                    ttft_ms=_optional(path, d, "median_ttft_ms", where),
                    p99_ttft_ms=_optional(path, d, "p99_ttft_ms", where),
                    concurrency=_optional(path, d, "max_concurrency", where),
                    metadata={},
                )
            )
        return fmt, out
    if all_lines:
        raise ScenarioError(f"--all-lines applies to SGLang JSONL files; {path} is {fmt}")
    if isinstance(data, dict) and "__jsonl__" in data:
        raise ScenarioError(f"{path}: JSON lines; a {fmt} result is one JSON document (SGLang writes JSONL)")
    if fmt == "vllm":
        if not isinstance(data, dict):
            raise ScenarioError(f"{path}: a vLLM result is one JSON object")
        _failures(path, _optional(path, data, "completed"), _optional(path, data, "failed"))
        run = Run(
            total_tokens_per_s=_number(path, data, "total_token_throughput"),
            tpot_ms=_number(path, data, "median_tpot_ms"),
            ttft_ms=_optional(path, data, "median_ttft_ms"),
            p99_ttft_ms=_optional(path, data, "p99_ttft_ms"),
            concurrency=_optional(path, data, "max_concurrency"),
            metadata={k: data[k] for k in METADATA_KEYS if data.get(k) is not None},
        )
        return fmt, [run]
    if fmt == "genai-perf" and isinstance(data, dict) and "total_isl" not in data and "input_sequence_length" in data:
        return fmt, [_genai_perf_run(path, data)]
    if fmt in ("aiperf", "genai-perf"):
        if not isinstance(data, dict):
            raise ScenarioError(f"{path}: an {fmt} export is one JSON object")
        isl = _stat(path, data, "total_isl", "avg")
        osl = _stat(path, data, "total_osl", "avg")
        duration = _stat(path, data, "benchmark_duration", "avg")
        _stat(path, data, "request_throughput", "avg")
        count = data.get("request_count", {}).get("avg") if isinstance(data.get("request_count"), dict) else None
        errors = data.get("error_request_count")
        errors = errors.get("avg") if isinstance(errors, dict) else errors
        _failures(path, count, errors if isinstance(errors, int | float) else None)
        loadgen = (
            ((data.get("input_config") or {}).get("loadgen") or {})
            if isinstance(data.get("input_config"), dict)
            else {}
        )
        conc = loadgen.get("concurrency") if isinstance(loadgen, dict) else None
        run = Run(
            total_tokens_per_s=(isl + osl) / duration,
            tpot_ms=_stat(path, data, "inter_token_latency", "p50"),
            ttft_ms=_stat(path, data, "time_to_first_token", "p50"),
            p99_ttft_ms=None,
            concurrency=(
                float(conc) if isinstance(conc, int | float) and not isinstance(conc, bool) and conc > 0 else None
            ),
            metadata={},
        )
        return fmt, [run]
    # inferencex: rows already per GPU
    if not isinstance(data, list) or not data:
        raise ScenarioError(f"{path}: InferenceX rows are a non-empty JSON array")
    out = []
    for i, row in enumerate(data):
        where = f"[{i}]."
        if not isinstance(row, dict):
            raise ScenarioError(f"{path}: row {i} is not a JSON object")
        per_gpu = _number(path, row, "tput_per_gpu", where=where)
        intvty = _number(path, row, "median_intvty", where=where)
        ttft = _optional(path, row, "median_ttft", where)
        out.append(
            Run(
                total_tokens_per_s=per_gpu,
                tpot_ms=1000.0 / intvty,
                ttft_ms=None if ttft is None else ttft * 1000.0,
                p99_ttft_ms=None,
                concurrency=None,
                # the row's own labels (its framework, ...) fill the flags not given, as vLLM metadata does
                metadata={k: row[k] for k in METADATA_KEYS if row.get(k) not in (None, "")},
                per_gpu=True,
            )
        )
    return fmt, out


def import_points(files: list[Path], labels: Labels, fmt: str = "auto", *, all_lines: bool = False) -> list[CurvePoint]:
    """The curve points of ``files``, labelled by the flags (vLLM metadata fills what is not given)."""
    out: list[CurvePoint] = []
    for path in files:
        got, found = runs(Path(path), fmt, all_lines=all_lines)
        for run in found:
            given = {k: getattr(labels, k) for k in METADATA_KEYS}
            for k, v in run.metadata.items():
                if k in given and given[k] is None:
                    given[k] = v
            missing = [f"--{k}" for k in ("sku", "gpus", "model", "isl", "osl", "precision") if given[k] in (None, "")]
            if missing:
                raise ScenarioError(
                    f"{path}: the file does not say {', '.join(m[2:] for m in missing)}; give {' '.join(missing)}"
                )
            try:
                gpus = int(given["gpus"])
                isl, osl = int(given["isl"]), int(given["osl"])
            except (TypeError, ValueError):
                raise ScenarioError(f"{path}: gpus, isl and osl must be whole numbers (got {given})") from None
            if gpus <= 0 or isl <= 0 or osl <= 0:
                raise ScenarioError(f"{path}: gpus, isl and osl must be positive (gpus {gpus}, isl {isl}, osl {osl})")
            per_gpu = run.total_tokens_per_s if run.per_gpu else run.total_tokens_per_s / gpus
            out.append(
                CurvePoint(
                    sku=str(given["sku"]),
                    gpus=gpus,
                    model=str(given["model"]),
                    isl=isl,
                    osl=osl,
                    precision=str(given["precision"]),
                    framework=str(given["framework"] or got),
                    interactivity=1000.0 / run.tpot_ms,
                    tokens_per_s_per_gpu=per_gpu,
                    ttft_ms=run.ttft_ms,
                    p99_ttft_ms=run.p99_ttft_ms,
                    concurrency=run.concurrency,
                    source=Path(path).name,
                    format=got,
                )
            )
    return out


def check_new_skus(points: list[CurvePoint], new_sku: bool) -> None:
    """Refuse an imported SKU id outside the shipped catalog that is close to a catalog id (a typo:
    ``h100-sxn``), unless ``new_sku`` declares it new; refuse ``new_sku`` when every SKU is in the
    catalog (it would change nothing)."""
    import difflib

    from planner.catalog.load import shipped_catalog, unknown_id_message

    skus = shipped_catalog().skus
    outside = sorted({p.sku for p in points} - set(skus))
    if new_sku and not outside:
        raise ScenarioError(
            f"`new_sku`: every SKU imported ({', '.join(sorted({p.sku for p in points}))}) is a catalog SKU; drop it"
        )
    if new_sku:
        return
    for sku in outside:
        if difflib.get_close_matches(sku, list(skus), n=1, cutoff=0.8):
            raise ScenarioError(
                f"the runs' {unknown_id_message('SKU', sku, skus)}; if '{sku}' is new hardware, declare it "
                "with `new_sku`"
            )


def import_notes(points: list[CurvePoint]) -> list[str]:
    """What an imported label means for its use: a SKU outside the shipped catalog (a scenario must
    define it to plan on it, and nothing transfers to or from it) or a precision the estimator does
    not know (the points plan as measured; nothing transfers from them)."""
    from planner.catalog.load import shipped_catalog
    from planner.throughput.roofline import precision_of

    skus = shipped_catalog().skus
    notes = []
    for sku in sorted({p.sku for p in points} - set(skus)):
        notes.append(
            f"SKU {sku}: not a catalog SKU ({', '.join(skus)}); a scenario that defines it can plan on these "
            "points, and throughput estimates neither start from nor reach it"
        )
    for prec in sorted({p.precision for p in points if precision_of(p.precision) is None}):
        notes.append(
            f"precision {prec}: not one the estimator knows (fp4, fp8, bf16 and their other names); the points "
            "plan as measured, and no estimate transfers from them"
        )
    return notes
