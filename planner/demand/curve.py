"""LoadCurve: tokens/s per workload per time slice (mean, and the peak within the slice).

CSV form (what `demand.load_curve` reads and `planner demand --out` writes):

    hour,chat,code,chat.peak,code.peak[,chat.p50,chat.p95,chat.p99,...]

* ``hour``: start of each slice, hours from the start; increasing and evenly spaced.
* ``<workload>``: mean delivered tokens/s over the slice (energy and tokens are priced on it).
* ``<workload>.peak`` (optional): the peak within the slice that capacity must serve
  (default: the mean). With Monte Carlo replicas it is the band chosen for sizing.
* ``<workload>.p50|.p95|.p99`` (optional): bands of the peak over replicas, kept for reports.
* the header is the first line, so ``pandas.read_csv`` and spreadsheets read the file as it is;
  the seed and how the curve was made go in a sidecar ``<name>.meta.json`` beside it
  (``planner demand --out curve.csv`` writes ``curve.meta.json``), read back for ``seed``;
* leading lines starting with ``#`` are comments; ``# seed=N`` (what older versions wrote) is
  still read as the demand seed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from planner.errors import ScenarioError
from planner.limits import MAX_SLICES, check_count, read_text_bounded

BANDS = ("p50", "p95", "p99")

Cell = str | int | float | bool | None  # one value of a summary row


@dataclass(frozen=True)
class LoadCurve:
    """Demand per workload and slice. Arrays are (workloads, slices)."""

    workloads: tuple[str, ...]
    start_hours: np.ndarray  # (T,) [h]
    slice_hours: np.ndarray  # (T,) hours each slice represents [h]
    mean: np.ndarray  # (W, T) [tokens/s]
    peak: np.ndarray  # (W, T) [tokens/s], >= mean
    bands: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (W, T) [tokens/s]
    seed: int | None = None

    @property
    def span_hours(self) -> float:
        return float(self.slice_hours.sum())

    def tokens(self) -> np.ndarray:
        """Tokens per workload over the span. [tokens]"""
        return (self.mean * self.slice_hours[None, :] * 3600.0).sum(axis=1)


def _fail(path: str, problems: list[str]) -> ScenarioError:
    return ScenarioError(f"load curve {path}: {len(problems)} problem(s) found", problems)


def meta_path(path: Path) -> Path:
    """The sidecar of a curve CSV: ``curve.csv`` -> ``curve.meta.json``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.meta.json")


def curve_meta_json(curve: LoadCurve, **info) -> str:
    """The sidecar text: the seed, the columns and ``info`` (how the curve was made)."""
    doc = {"seed": curve.seed, "workloads": list(curve.workloads), "slices": len(curve.start_hours), **info}
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def _sidecar_seed(path: Path) -> int | None:
    side = meta_path(path)
    if not side.is_file():
        return None
    try:
        doc = json.loads(read_text_bounded(side, "load curve sidecar"))
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{side}: not valid JSON ({exc.msg} at line {exc.lineno}); fix or delete it") from None
    seed = doc.get("seed") if isinstance(doc, dict) else None
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ScenarioError(f"{side}: seed {seed!r} is not a whole number >= 0; fix or delete the sidecar")
    return seed


def read_load_curve(path: Path, slice_hours: float | None = None) -> LoadCurve:
    """Read and check a load-curve CSV. Every problem is reported with its row and column.
    The seed comes from a ``# seed=N`` line (older files) or the ``<name>.meta.json`` sidecar."""
    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"load curve file not found: {path}")
    text = read_text_bounded(path, "load curve", encoding="utf-8-sig")  # a BOM (Excel's "CSV UTF-8") is dropped
    lines = text.splitlines()
    skip = 0
    seed = None
    while skip < len(lines) and lines[skip].lstrip().startswith("#"):
        m = re.match(r"#\s*seed\s*=\s*(\d+)", lines[skip].strip())
        seed = int(m.group(1)) if m else seed
        skip += 1
    side = _sidecar_seed(path)
    if seed is not None and side is not None and side != seed:
        raise ScenarioError(
            f"load curve {path}: its '# seed={seed}' line and {meta_path(path)} (seed {side}) disagree; "
            "delete the one that is stale"
        )
    seed = seed if seed is not None else side
    rows = list(csv.reader(io.StringIO("\n".join(lines[skip:]))))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ScenarioError(f"load curve {path} is empty; expected a header 'hour,<workload>,...' and rows")
    check_count(len(rows) - 1, MAX_SLICES, f"load curve {path}: rows (slices)", "aggregate it to longer slices")
    header = [c.strip() for c in rows[0]]
    problems: list[str] = []
    if header[0] != "hour":
        problems.append(f"first column must be 'hour', got '{header[0]}'")
    if len(header) < 2:
        problems.append("no workload columns after 'hour'")
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        problems.append(f"duplicate column(s): {', '.join(dup)}")
    if len(rows) < 2:
        problems.append("no data rows")
    if problems:
        raise _fail(str(path), problems)

    values = np.full((len(rows) - 1, len(header)), np.nan)
    for i, row in enumerate(rows[1:], start=2 + skip):
        if len(row) != len(header):
            problems.append(f"row {i}: {len(row)} fields, header has {len(header)}")
            continue
        for j, cell in enumerate(row):
            try:
                v = float(cell)
            except ValueError:
                problems.append(f"row {i}, column '{header[j]}': not a number: {cell!r}")
                continue
            if not math.isfinite(v):
                problems.append(f"row {i}, column '{header[j]}': not a finite number: {cell!r}")
            elif v < 0 and j > 0:
                problems.append(f"row {i}, column '{header[j]}': negative demand {v:g}")
            values[i - 2 - skip, j] = v
    if problems:
        raise _fail(str(path), problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else []))

    hours = values[:, 0]
    steps = np.diff(hours)
    for k in np.flatnonzero(steps <= 0)[:10]:
        kind = "duplicated" if steps[k] == 0 else "decreasing"
        problems.append(
            f"row {k + 3 + skip}: hour {hours[k + 1]:g} is {kind} (previous {hours[k]:g}); hours must increase"
        )
    if not problems and len(steps) and not np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9):
        k = int(np.flatnonzero(~np.isclose(steps, steps[0], rtol=1e-6, atol=1e-9))[0])
        problems.append(f"row {k + 3 + skip}: uneven spacing: step {steps[k]:g} h, first step {steps[0]:g} h")
    if problems:
        raise _fail(str(path), problems)
    step = float(steps[0]) if len(steps) else None
    if slice_hours is None:
        if step is None:
            raise _fail(str(path), ["one row only: set demand.slice_hours"])
        slice_hours = step
    elif step is not None and not math.isclose(step, slice_hours, rel_tol=1e-6):
        raise _fail(str(path), [f"demand.slice_hours is {slice_hours:g} but the hour column steps by {step:g}"])

    names = header[1:]
    base = [n for n in names if "." not in n]
    extra = [n for n in names if "." in n]
    for n in extra:
        w, _, suffix = n.partition(".")
        if w not in base:
            problems.append(f"column '{n}': no workload column '{w}'")
        elif suffix not in ("peak", *BANDS):
            problems.append(f"column '{n}': unknown suffix '.{suffix}' (use .peak, .p50, .p95, .p99)")
    if not base:
        problems.append("no workload columns (names without a '.')")
    if problems:
        raise _fail(str(path), problems)
    col = {n: values[:, j + 1] for j, n in enumerate(names)}
    mean = np.vstack([col[w] for w in base])
    peak = np.vstack([col.get(f"{w}.peak", col[w]) for w in base])
    below = np.argwhere(peak < mean * (1 - 1e-9))
    if len(below):
        w, t = below[0]
        raise _fail(
            str(path),
            [
                f"row {t + 2 + skip}: {base[w]}.peak {peak[w, t]:g} is below the mean {mean[w, t]:g} ({len(below)} such cells)"
            ],
        )
    bands = {
        b: np.vstack([col.get(f"{w}.{b}", peak[i]) for i, w in enumerate(base)])
        for b in BANDS
        if any(f"{w}.{b}" in col for w in base)
    }
    t = len(hours)
    return LoadCurve(tuple(base), hours.copy(), np.full(t, float(slice_hours)), mean, peak, bands, seed)


def load_curve_csv(curve: LoadCurve) -> str:
    """CSV text of a curve (the form read_load_curve reads), fixed formatting for byte-stable output.
    The header is the first line; the seed goes in the sidecar (``curve_meta_json``)."""
    names = list(curve.workloads)
    header = ["hour", *names, *(f"{w}.peak" for w in names)]
    for b in BANDS:
        if b in curve.bands:
            header += [f"{w}.{b}" for w in names]
    cols = [curve.start_hours, *curve.mean, *curve.peak]
    for b in BANDS:
        if b in curve.bands:
            cols += list(curve.bands[b])
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    for row in zip(*cols, strict=True):
        out.write(",".join(f"{v:.10g}" for v in row) + "\n")
    return out.getvalue()


def curve_summary(curve: LoadCurve) -> list[dict[str, Cell]]:
    """Per workload: mean, highest peak, peak/mean and tokens over the span (and peak bands)."""
    rows = []
    tokens = curve.tokens()
    for i, name in enumerate(curve.workloads):
        mean = float(tokens[i] / (curve.span_hours * 3600.0))
        peak = float(curve.peak[i].max())
        row: dict[str, Cell] = {
            "workload": name,
            "mean_tokens_per_s": mean,
            "peak_tokens_per_s": peak,
            "peak_to_mean": peak / mean if mean > 0 else None,
            "total_tokens": float(tokens[i]),
        }
        for band in BANDS:
            if band in curve.bands:
                row[f"peak_{band}_tokens_per_s"] = float(curve.bands[band][i].max())
        rows.append(row)
    return rows
