"""Reading benchmark result files into curve points (``planner throughput import``).

A point is total (input + output) tokens/s divided by the GPUs of the deployment, and
interactivity = 1000 / median TPOT (or inter-token latency) [tok/s/user]. Formats and the
keys read for the figures:

* ``vllm``: ``vllm bench serve --save-result`` JSON (and the older ``benchmark_serving.py``):
  ``total_token_throughput``, ``median_tpot_ms``, ``median_ttft_ms``; ``p99_ttft_ms``,
  ``max_concurrency``, ``completed``, ``failed`` when present.
* ``sglang``: ``bench_serving`` JSONL, one run per line (the last line, or every line):
  ``total_throughput`` (older versions: ``input_throughput + output_throughput``),
  ``median_tpot_ms``, ``median_ttft_ms``; ``p99_ttft_ms``, ``completed``, ``max_concurrency``
  when present.
* ``aiperf`` (``profile_export_aiperf.json``, and genai-perf files in that form):
  (``total_isl.avg`` + ``total_osl.avg``) / ``benchmark_duration.avg`` (seconds),
  ``inter_token_latency.p50``, ``time_to_first_token.p50`` and ``.p99``; ``request_count``,
  ``error_request_count`` when present.
* ``genai-perf``: its own ``profile_export_genai_perf.json`` (``request_throughput.avg`` x
  (``input_sequence_length.avg`` + ``output_sequence_length.avg``), ITL and TTFT medians, TTFT
  p99) and ``profile_export_genai_perf.csv`` (the same rows by their printed names; the
  tokens/s are ``Output Token Throughput`` x (ISL + OSL) / OSL, the same figure, since genai-perf
  prints the request rate to two decimals only).
* ``inferencex``: a JSON array of rows with ``tput_per_gpu`` (already per GPU),
  ``median_intvty`` and ``median_ttft`` / ``p99_ttft`` (seconds).

Labels the files state (``STATED``: the model, the serving framework, the GPUs, ISL/OSL,
precision) fill the flags not given; a flag that contradicts one is refused naming the file,
the key and both values. An ISL/OSL a file gives as the mean over its requests agrees with a
flag within ``SHAPE_TOLERANCE`` (tokenizers and chat templates move it a little; a run whose
outputs stopped early does not measure the shape the flag names).

A file whose format cannot be told, that lacks a key, whose requests mostly failed, or with
a non-positive figure is refused naming the file and the key.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.errors import ScenarioError
from planner.limits import read_text_bounded
from planner.throughput.curves import CurvePoint

FORMATS = ("vllm", "sglang", "aiperf", "genai-perf", "inferencex")
METADATA_KEYS = ("sku", "gpus", "model", "isl", "osl", "precision", "framework")
SHAPE_TOLERANCE = 0.10  # a file's mean ISL/OSL agrees with --isl/--osl within this share
# vLLM's --backend names that are a serving framework (the others, openai*, are an API)
VLLM_SERVER_BACKENDS = ("vllm", "sglang", "tgi", "tensorrt-llm", "lmdeploy", "llama.cpp", "deepspeed-mii", "scalellm")
# SGLang's --backend names, by the framework they drive (gserver and truss name none)
SGLANG_BACKENDS = {
    "sglang": "sglang",
    "sglang-native": "sglang",
    "sglang-oai": "sglang",
    "sglang-oai-chat": "sglang",
    "vllm": "vllm",
    "vllm-chat": "vllm",
    "lmdeploy": "lmdeploy",
    "lmdeploy-chat": "lmdeploy",
    "trt": "trt",
}


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


@dataclass(frozen=True)
class Stated:
    """A label a result file states, and the key that states it."""

    value: str | int | float
    key: str  # where in the file, e.g. "model_id", "line 2: backend", "[0].tp"
    mean: bool = False  # a mean over the requests (ISL/OSL): agrees with a flag within SHAPE_TOLERANCE


@dataclass(frozen=True, kw_only=True)
class Run:
    """One benchmark run as read from a file (per deployment, not yet per GPU)."""

    total_tokens_per_s: float  # per GPU when ``per_gpu`` [tokens/s]
    tpot_ms: float
    ttft_ms: float | None
    p99_ttft_ms: float | None
    concurrency: float | None
    stated: dict[str, Stated]  # labels the file gives (keys of METADATA_KEYS); checked in import_points
    per_gpu: bool = False  # the file's throughput is already per GPU (InferenceX)


def _load(path: Path) -> tuple[str, Any]:
    """The file's text and its content: JSON (a document, or ``{"__jsonl__": [documents]}`` for
    JSON lines) or, for a CSV file, ``{"__csv__": rows}``."""
    if not path.is_file():
        raise ScenarioError(f"benchmark result file not found: {path}")
    text = read_text_bounded(path, "benchmark result file", encoding="utf-8-sig")
    if path.suffix.lower() == ".csv" or text.lstrip().startswith("Metric,"):
        return text, {"__csv__": list(csv.reader(io.StringIO(text)))}
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
    if isinstance(data, dict) and "__csv__" in data:
        rows = data["__csv__"]
        if rows and rows[0][:1] == ["Metric"] and "aiperf" not in path.name.lower():
            return "genai-perf"
        raise ScenarioError(
            f"{path}: a CSV file that is not genai-perf's profile_export_genai_perf.csv (its first row is not "
            "'Metric,avg,...'); for AIPerf give its profile_export_aiperf.json"
        )
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


def _count(value: Any) -> float | None:
    """A positive count given in a file (concurrency, GPUs), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return float(value)
    return None


def _at(doc: Any, *keys: str) -> Any:
    """``doc[k1][k2]...``, None where a level is missing or not a mapping."""
    for k in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(k)
    return doc


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _one_model(value: Any) -> str | None:
    """A model name given as a string or a one-element list (genai-perf, AIPerf)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return _text(value)


def _mean_shape(stated: dict[str, Stated], key: str, value: float | None, where: str) -> None:
    if value is not None and math.isfinite(value) and value > 0:
        stated[key] = Stated(value, where, mean=True)


def _vllm_run(path: Path, data: Any) -> Run:
    """``vllm bench serve --save-result``: the figures, and as labels ``model_id``, a ``backend``
    that names a server, the mean ISL/OSL (``total_input_tokens`` / ``completed``) and the
    ``--metadata`` keys of METADATA_KEYS (these win over the others: they are the user's)."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a vLLM result is one JSON object")
    completed = _optional(path, data, "completed")
    _failures(path, completed, _optional(path, data, "failed"))
    stated: dict[str, Stated] = {}
    if model := _text(data.get("model_id")):
        stated["model"] = Stated(model, "model_id")
    backend = _text(data.get("backend"))
    if backend is not None and backend.lower() in VLLM_SERVER_BACKENDS:
        stated["framework"] = Stated(backend.lower(), "backend")
    if completed:
        for label, key in (("isl", "total_input_tokens"), ("osl", "total_output_tokens")):
            total = _optional(path, data, key)
            _mean_shape(stated, label, None if total is None else total / completed, f"{key} / completed")
    for k in METADATA_KEYS:
        if data.get(k) is not None and data.get(k) != "":
            stated[k] = Stated(data[k], k)
    return Run(
        total_tokens_per_s=_number(path, data, "total_token_throughput"),
        tpot_ms=_number(path, data, "median_tpot_ms"),
        ttft_ms=_optional(path, data, "median_ttft_ms"),
        p99_ttft_ms=_optional(path, data, "p99_ttft_ms"),
        concurrency=_optional(path, data, "max_concurrency"),
        stated=stated,
    )


def _sglang_run(path: Path, d: dict, where: str) -> Run:
    """One ``bench_serving`` line: the figures, and as labels the framework its ``backend``
    drives (with ``server_info.version`` for SGLang), ``server_info.model_path`` and the mean
    ISL/OSL (``total_input_tokens`` / ``completed``)."""
    if "total_throughput" in d:
        total = _number(path, d, "total_throughput", where=where)
    else:
        total = _number(path, d, "input_throughput", where=where) + _number(path, d, "output_throughput", where=where)
    completed = _optional(path, d, "completed", where)
    _failures(path, completed, _optional(path, d, "failed", where), where)
    stated: dict[str, Stated] = {}
    backend = _text(d.get("backend"))
    framework = SGLANG_BACKENDS.get(backend.lower()) if backend else None
    if framework is not None:
        version = _text(_at(d, "server_info", "version"))
        if framework == "sglang" and version:
            stated["framework"] = Stated(f"sglang-{version}", f"{where}backend, server_info.version")
        else:
            stated["framework"] = Stated(framework, f"{where}backend")
    if model := _text(_at(d, "server_info", "model_path")):
        stated["model"] = Stated(model, f"{where}server_info.model_path")
    if completed:
        for label, key in (("isl", "total_input_tokens"), ("osl", "total_output_tokens")):
            total_tokens = _optional(path, d, key, where)
            mean = None if total_tokens is None else total_tokens / completed
            _mean_shape(stated, label, mean, f"{where}{key} / completed")
    return Run(
        total_tokens_per_s=total,
        tpot_ms=_number(path, d, "median_tpot_ms", where=where),
        ttft_ms=_optional(path, d, "median_ttft_ms", where),
        p99_ttft_ms=_optional(path, d, "p99_ttft_ms", where),
        concurrency=_optional(path, d, "max_concurrency", where),
        stated=stated,
    )


def _genai_perf_run(path: Path, data: dict) -> Run:
    """genai-perf's own export: per-request ``input_sequence_length`` / ``output_sequence_length``
    statistics and the benchmark's ``request_throughput``, so total tokens/s = requests/s x (mean
    input + mean output tokens); ITL and TTFT medians in ms; ``input_config`` gives the model and
    the concurrency (``model`` / ``concurrency``, or since its config files ``model_names`` /
    ``perf_analyzer.stimulus.concurrency``)."""
    isl = _stat(path, data, "input_sequence_length", "avg")
    osl = _stat(path, data, "output_sequence_length", "avg")
    rate = _stat(path, data, "request_throughput", "avg")
    config = data.get("input_config") if isinstance(data.get("input_config"), dict) else {}
    stated: dict[str, Stated] = {}
    for key in ("model", "model_names"):
        if model := _one_model(config.get(key)):
            stated["model"] = Stated(model, f"input_config.{key}")
    _mean_shape(stated, "isl", isl, "input_sequence_length.avg")
    _mean_shape(stated, "osl", osl, "output_sequence_length.avg")
    conc = _count(config.get("concurrency")) or _count(_at(config, "perf_analyzer", "stimulus", "concurrency"))
    return Run(
        total_tokens_per_s=rate * (isl + osl),
        tpot_ms=_stat(path, data, "inter_token_latency", "p50"),
        ttft_ms=_stat(path, data, "time_to_first_token", "p50"),
        p99_ttft_ms=_optional(path, data["time_to_first_token"], "p99", "time_to_first_token."),
        concurrency=conc,
        stated=stated,
    )


def _csv_cell(path: Path, table: dict, name: str, column: str, *, required: bool = True) -> float | None:
    """A number of genai-perf's CSV: row ``name`` (printed without its unit), column ``column``.
    genai-perf prints ``f"{v:,.2f}"`` (thousands separated by commas) and ``N/A`` for a missing one."""
    row = table.get(name.lower())
    if row is None:
        if not required:
            return None
        raise ScenarioError(
            f"{path}: no row '{name}' in this CSV (rows: {', '.join(r['__name__'] for r in table.values())}); "
            "is it genai-perf's profile_export_genai_perf.csv of a streaming run?"
        )
    cell = row["__cells__"].get(column)
    if cell is None:
        if not required:
            return None
        raise ScenarioError(f"{path}: row '{row['__name__']}' has no column '{column}'")
    try:
        value = float(cell.replace(",", ""))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        if not required:
            return None
        raise ScenarioError(
            f"{path}: row '{row['__name__']}', column '{column}' is {cell!r}; a measured figure must be a positive "
            "number"
        )
    return value


def _csv_table(path: Path, rows: list[list[str]]) -> dict[str, dict]:
    """genai-perf's CSV as ``{metric name: {"__name__": as printed, "__unit__": ..., "__cells__":
    {column: text}}}``: every block (blank-line separated) whose header begins ``Metric`` (the
    statistics table, then ``Metric,Value`` or headerless single values, then GPU telemetry)."""
    table: dict[str, dict] = {}
    header: list[str] = ["Metric", "Value"]  # older exports give the single values without a header
    for row in rows:
        if not any(c.strip() for c in row):
            header = ["Metric", "Value"]
            continue
        if row[0].strip() == "Metric":
            header = [c.strip() for c in row]
            continue
        printed = row[0].strip()
        name, unit = printed, None
        if printed.endswith(")") and " (" in printed:
            name, unit = printed[:-1].split(" (", 1)
        table.setdefault(
            name.lower(),
            {"__name__": printed, "__unit__": unit, "__cells__": dict(zip(header[1:], row[1:], strict=False))},
        )
    if not table:
        raise ScenarioError(f"{path}: no metric rows in this CSV; give genai-perf's profile_export_genai_perf.csv")
    for name in ("time to first token", "inter token latency"):
        unit = table.get(name, {}).get("__unit__")
        if unit not in (None, "ms"):
            raise ScenarioError(f"{path}: row '{table[name]['__name__']}' is in {unit}; genai-perf writes ms")
    return table


def _genai_perf_csv_run(path: Path, rows: list[list[str]]) -> Run:
    """genai-perf's ``profile_export_genai_perf.csv``: ``Inter Token Latency (ms)`` and ``Time To
    First Token (ms)`` at p50 (TTFT p99 too), ``Input`` / ``Output Sequence Length`` avg, and the
    single values ``Output Token Throughput`` (or, when absent, ``Request Throughput`` x mean
    input + output tokens). The CSV does not carry the run's configuration (model, concurrency)."""
    t = _csv_table(path, rows)
    isl = _csv_cell(path, t, "Input Sequence Length", "avg")
    osl = _csv_cell(path, t, "Output Sequence Length", "avg")
    assert isl is not None and osl is not None  # required cells raise when missing
    out_tok = _csv_cell(path, t, "Output Token Throughput", "Value", required=False)
    if out_tok is not None:
        total = out_tok * (isl + osl) / osl
    else:
        rate = _csv_cell(path, t, "Request Throughput", "Value")
        assert rate is not None
        total = rate * (isl + osl)
    tpot = _csv_cell(path, t, "Inter Token Latency", "p50")
    ttft = _csv_cell(path, t, "Time To First Token", "p50")
    assert tpot is not None
    stated: dict[str, Stated] = {}
    _mean_shape(stated, "isl", isl, "row 'Input Sequence Length', column avg")
    _mean_shape(stated, "osl", osl, "row 'Output Sequence Length', column avg")
    return Run(
        total_tokens_per_s=total,
        tpot_ms=tpot,
        ttft_ms=ttft,
        p99_ttft_ms=_csv_cell(path, t, "Time To First Token", "p99", required=False),
        concurrency=None,
        stated=stated,
    )


def _aiperf_run(path: Path, data: Any, fmt: str) -> Run:
    """AIPerf's ``profile_export_aiperf.json`` (and genai-perf files in its form): tokens over the
    benchmark's duration; ``input_config`` gives the model (``endpoint.model_names``) and the
    concurrency (``loadgen.concurrency``); ``input_sequence_length.avg`` / ``output_...`` the
    mean ISL/OSL."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: an {fmt} export is one JSON object")
    isl = _stat(path, data, "total_isl", "avg")
    osl = _stat(path, data, "total_osl", "avg")
    duration = _stat(path, data, "benchmark_duration", "avg")
    _stat(path, data, "request_throughput", "avg")
    count = _at(data, "request_count", "avg")
    errors = data.get("error_request_count")
    errors = errors.get("avg") if isinstance(errors, dict) else errors
    _failures(
        path,
        count if isinstance(count, int | float) else None,
        errors if isinstance(errors, int | float) else None,
    )
    config = data.get("input_config") if isinstance(data.get("input_config"), dict) else {}
    stated: dict[str, Stated] = {}
    if model := _one_model(_at(config, "endpoint", "model_names")):
        stated["model"] = Stated(model, "input_config.endpoint.model_names")
    _mean_shape(stated, "isl", _at(data, "input_sequence_length", "avg"), "input_sequence_length.avg")
    _mean_shape(stated, "osl", _at(data, "output_sequence_length", "avg"), "output_sequence_length.avg")
    ttft = data["time_to_first_token"] if isinstance(data.get("time_to_first_token"), dict) else {}
    return Run(
        total_tokens_per_s=(isl + osl) / duration,
        tpot_ms=_stat(path, data, "inter_token_latency", "p50"),
        ttft_ms=_stat(path, data, "time_to_first_token", "p50"),
        p99_ttft_ms=_optional(path, ttft, "p99", "time_to_first_token."),
        concurrency=_count(_at(config, "loadgen", "concurrency")),
        stated=stated,
    )


def _inferencex_run(path: Path, row: dict, i: int) -> Run:
    """An InferenceX row (``utils/process_result.py``): per-GPU throughput, latencies in seconds,
    and its labels: ``model``, ``framework`` (with ``spec_decoding`` / ``mtp`` when not none, and
    ``disagg``), ``precision``, ``isl``, ``osl``, ``conc``, the GPUs (``tp`` on one node,
    ``num_prefill_gpu + num_decode_gpu`` across nodes; ``gpus`` where a row gives it) and
    ``sku`` where a row gives it (``hw`` is a runner name, not a SKU id)."""
    where = f"[{i}]."
    per_gpu = _number(path, row, "tput_per_gpu", where=where)
    intvty = _number(path, row, "median_intvty", where=where)
    ttft = _optional(path, row, "median_ttft", where)
    p99 = _optional(path, row, "p99_ttft", where)
    stated: dict[str, Stated] = {}
    for k in METADATA_KEYS:
        if row.get(k) not in (None, ""):
            stated[k] = Stated(row[k], f"{where}{k}")
    if "framework" in stated:
        parts = [str(stated["framework"].value)]
        keys = [f"{where}framework"]
        for key in ("spec_decoding", "mtp"):
            spec = _text(row.get(key))
            if spec and spec.lower() not in ("none", "false", "off") and spec.lower() not in parts[0].lower():
                parts.append(spec)
                keys.append(f"{where}{key}")
        if row.get("disagg") is True and "disagg" not in parts[0].lower():
            parts.append("disagg")
            keys.append(f"{where}disagg")
        stated["framework"] = Stated(" ".join(parts), ", ".join(keys))
    if "gpus" not in stated:
        if row.get("is_multinode") is True:
            pre, dec = _count(row.get("num_prefill_gpu")), _count(row.get("num_decode_gpu"))
            if pre and dec:
                stated["gpus"] = Stated(int(pre + dec), f"{where}num_prefill_gpu + num_decode_gpu")
        elif tp := _count(row.get("tp")):
            stated["gpus"] = Stated(int(tp), f"{where}tp")
    return Run(
        total_tokens_per_s=per_gpu,
        tpot_ms=1000.0 / intvty,
        ttft_ms=None if ttft is None else ttft * 1000.0,
        p99_ttft_ms=None if p99 is None else p99 * 1000.0,
        concurrency=_count(row.get("conc")),
        stated=stated,
        per_gpu=True,
    )


def runs(path: Path, fmt: str = "auto", *, all_lines: bool = False) -> tuple[str, list[Run]]:
    """The runs a result file holds, and its format."""
    _, data = _load(path)
    fmt = detect(path, data) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise ScenarioError(f"--format {fmt}: unknown; use auto, {', '.join(FORMATS)}")
    is_csv = isinstance(data, dict) and "__csv__" in data
    if is_csv and fmt != "genai-perf":
        raise ScenarioError(f"{path}: a CSV file; of the formats only genai-perf's CSV is read, not {fmt}")
    if fmt == "sglang":
        docs = data["__jsonl__"] if isinstance(data, dict) and "__jsonl__" in data else [data]
        if not all(isinstance(d, dict) for d in docs):
            raise ScenarioError(f"{path}: an SGLang result line is not a JSON object")
        chosen = range(len(docs)) if all_lines else [len(docs) - 1]
        return fmt, [_sglang_run(path, docs[i], f"line {i + 1}: " if len(docs) > 1 else "") for i in chosen]
    if all_lines:
        raise ScenarioError(f"--all-lines applies to SGLang JSONL files; {path} is {fmt}")
    if isinstance(data, dict) and "__jsonl__" in data:
        raise ScenarioError(f"{path}: JSON lines; a {fmt} result is one JSON document (SGLang writes JSONL)")
    if fmt == "vllm":
        return fmt, [_vllm_run(path, data)]
    if fmt == "genai-perf" and is_csv:
        return fmt, [_genai_perf_csv_run(path, data["__csv__"])]
    if fmt == "genai-perf" and isinstance(data, dict) and "total_isl" not in data and "input_sequence_length" in data:
        return fmt, [_genai_perf_run(path, data)]
    if fmt in ("aiperf", "genai-perf"):
        return fmt, [_aiperf_run(path, data, fmt)]
    # inferencex: rows already per GPU
    if not isinstance(data, list) or not data:
        raise ScenarioError(f"{path}: InferenceX rows are a non-empty JSON array")
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            raise ScenarioError(f"{path}: row {i} is not a JSON object")
    return fmt, [_inferencex_run(path, row, i) for i, row in enumerate(data)]


def _agrees(label: str, flag: str | int, stated: Stated) -> bool:
    """Whether a flag says what the file says: the same value (a precision by its name, a
    framework flag may add a version to the file's framework: ``vllm-0.11.0`` for ``vllm``;
    a mean ISL/OSL within SHAPE_TOLERANCE)."""
    from planner.throughput.roofline import precision_of

    value = stated.value
    if label in ("gpus", "isl", "osl"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        if stated.mean:
            return abs(number - float(flag)) <= SHAPE_TOLERANCE * float(flag)
        return number == float(flag)
    a, b = str(flag).strip(), str(value).strip()
    if label == "precision":
        pa, pb = precision_of(a), precision_of(b)
        return (pa == pb) if pa is not None and pb is not None else a.lower() == b.lower()
    if label == "framework":
        return a.lower().startswith(b.lower())
    return a == b


def _shown(value: str | int | float) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)


def _resolve(path: Path, run: Run, labels: Labels, fmt: str, problems: list[str]) -> dict[str, Any] | None:
    """The labels of one run: each flag, else what the file states; a flag that contradicts the
    file is a problem (appended) naming the file, the key and both values."""
    given: dict[str, Any] = {}
    bad = False
    for k in METADATA_KEYS:
        flag, stated = getattr(labels, k), run.stated.get(k)
        if flag not in (None, ""):
            if stated is not None and not _agrees(k, flag, stated):
                said = (
                    f", the mean over its requests (more than {SHAPE_TOLERANCE:.0%} apart)"
                    if stated.mean
                    else " in the file"
                )
                problems.append(
                    f"{path}: --{k} {flag} contradicts {stated.key} = {_shown(stated.value)}{said}; "
                    f"drop --{k} to use the file's value, or check that this is the run you meant"
                )
                bad = True
            given[k] = flag
        elif stated is not None:
            given[k] = round(stated.value) if stated.mean else stated.value
        else:
            given[k] = None
    if bad:
        return None
    missing = [f"--{k}" for k in ("sku", "gpus", "model", "isl", "osl", "precision") if given[k] in (None, "")]
    if missing:
        problems.append(f"{path}: the file does not say {', '.join(m[2:] for m in missing)}; give {' '.join(missing)}")
        return None
    try:
        given["gpus"], given["isl"], given["osl"] = int(given["gpus"]), int(given["isl"]), int(given["osl"])
    except (TypeError, ValueError):
        problems.append(f"{path}: gpus, isl and osl must be whole numbers (got {given})")
        return None
    if given["gpus"] <= 0 or given["isl"] <= 0 or given["osl"] <= 0:
        problems.append(
            f"{path}: gpus, isl and osl must be positive (gpus {given['gpus']}, isl {given['isl']}, osl {given['osl']})"
        )
        return None
    given["framework"] = str(given["framework"] or fmt)
    return given


def import_points(files: list[Path], labels: Labels, fmt: str = "auto", *, all_lines: bool = False) -> list[CurvePoint]:
    """The curve points of ``files``, labelled by the flags and what each file states (a flag
    contradicting a file is refused; every such problem of every file is reported at once)."""
    out: list[CurvePoint] = []
    problems: list[str] = []
    for path in files:
        got, found = runs(Path(path), fmt, all_lines=all_lines)
        for run in found:
            given = _resolve(Path(path), run, labels, got, problems)
            if given is None:
                continue
            per_gpu = run.total_tokens_per_s if run.per_gpu else run.total_tokens_per_s / given["gpus"]
            out.append(
                CurvePoint(
                    sku=str(given["sku"]),
                    gpus=given["gpus"],
                    model=str(given["model"]),
                    isl=given["isl"],
                    osl=given["osl"],
                    precision=str(given["precision"]),
                    framework=given["framework"],
                    interactivity=1000.0 / run.tpot_ms,
                    tokens_per_s_per_gpu=per_gpu,
                    ttft_ms=run.ttft_ms,
                    p99_ttft_ms=run.p99_ttft_ms,
                    concurrency=run.concurrency,
                    source=Path(path).name,
                    format=got,
                )
            )
    if problems:
        unique = list(dict.fromkeys(problems))
        raise ScenarioError(unique[0] if len(unique) == 1 else "\n".join(["the runs cannot be imported:", *unique]))
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
    not know (the points plan as measured; estimates from them read the label by an assumption,
    flagged, with a wider band: ``planner.throughput.estimate.assumed_precision``)."""
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
            "plan as measured, and estimates from them read it by an assumption, flagged, with a wider band"
        )
    return notes
