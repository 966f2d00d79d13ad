"""Request traces: read and check a trace CSV, and replay it into per-window token counts.

A trace has one row per request and the columns

    arrived_at,num_prefill_tokens,num_decode_tokens

``arrived_at`` is seconds from the start of the recording (non-negative, non-decreasing);
the token columns are non-negative whole numbers (input and output tokens). Extra columns
are ignored. This is the processed form of the Azure LLM inference traces in scenarios/traces/.

Replay (``replay_period_tokens``) never invents or loses a token: every request of the
trace lands, with its exact token count, in the peak window that holds its arrival. A
trace shorter than the horizon is tiled with its period; ``scale`` adds shifted copies.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.limits import read_text_bounded

COLUMNS = ("arrived_at", "num_prefill_tokens", "num_decode_tokens")
MAX_LISTED = 20


@dataclass(frozen=True)
class Trace:
    """A validated request trace."""

    path: Path
    arrived_at_s: np.ndarray  # (N,) arrival times from the start of the recording [s]
    input_tokens: np.ndarray  # (N,) int64 prompt (prefill) tokens [tokens]
    output_tokens: np.ndarray  # (N,) int64 generated (decode) tokens [tokens]

    @property
    def requests(self) -> int:
        return int(self.arrived_at_s.size)

    @property
    def last_arrival_s(self) -> float:
        return float(self.arrived_at_s[-1])

    def tokens(self, basis: Literal["total", "output"] = "total") -> np.ndarray:
        """Counted tokens per request: input + output, or output only. [tokens]"""
        return self.output_tokens if basis == "output" else self.input_tokens + self.output_tokens


def _fail(path: Path, problems: list[str]) -> ScenarioError:
    shown = problems[:MAX_LISTED]
    if len(problems) > MAX_LISTED:
        shown.append(f"... and {len(problems) - MAX_LISTED} more")
    return ScenarioError(f"trace {path}: {len(problems)} problem(s) found", shown)


def read_trace(path: Path) -> Trace:
    """Read and check a trace CSV; every problem names the file, the row (1 = header) and the column."""
    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"trace file not found: {path}")
    if path.is_dir():
        raise ScenarioError(f"trace path is a directory, not a file: {path}")
    text = read_text_bounded(path, "trace", encoding="utf-8-sig")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ScenarioError(f"cannot read trace {path}: {str(exc).strip()}") from None
    header = [str(c).strip() for c in frame.columns]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise _fail(
            path,
            [
                f"missing column(s) {', '.join(missing)}; the header is '{','.join(header)}', expected {','.join(COLUMNS)}"
            ],
        )
    frame.columns = header
    if frame.empty:
        raise _fail(path, ["no data rows"])

    problems: list[str] = []
    values: dict[str, np.ndarray] = {}
    for column in COLUMNS:
        text = frame[column].str.strip()
        number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, copy=True)
        for i in np.flatnonzero(~np.isfinite(number))[:MAX_LISTED]:
            problems.append(f"row {i + 2}, column '{column}': not a finite number: {text.iloc[i]!r}")
        finite = np.isfinite(number)
        for i in np.flatnonzero(finite & (number < 0))[:MAX_LISTED]:
            problems.append(f"row {i + 2}, column '{column}': negative value {number[i]:g}")
        if column != "arrived_at":
            for i in np.flatnonzero(finite & (number != np.floor(number)))[:MAX_LISTED]:
                problems.append(f"row {i + 2}, column '{column}': token count {number[i]:g} is not a whole number")
        values[column] = number
    if problems:
        raise _fail(path, problems)

    times = values["arrived_at"]
    back = np.flatnonzero(np.diff(times) < 0)
    for k in back[:MAX_LISTED]:
        problems.append(
            f"row {k + 3}, column 'arrived_at': {times[k + 1]:g} s is before the previous row's {times[k]:g} s; "
            "sort the trace by arrival time"
        )
    if len(back) > MAX_LISTED:
        problems.append(f"... {len(back)} out-of-order rows in all")
    if problems:
        raise ScenarioError(f"trace {path}: arrival times are not sorted", problems[: MAX_LISTED + 1])
    return Trace(
        path=path,
        arrived_at_s=times,
        input_tokens=values["num_prefill_tokens"].astype(np.int64),
        output_tokens=values["num_decode_tokens"].astype(np.int64),
    )


def trace_period_s(trace: Trace, slice_s: float, period_hours: float | None = None) -> float:
    """The period a trace tiles with: ``period_hours``, or its last arrival rounded up to a whole slice. [s]

    The last arrival always falls strictly inside the period, so no request of one tile
    lands on the first instant of the next.
    """
    if period_hours is not None:
        period = period_hours * 3600.0
        if period <= trace.last_arrival_s:
            raise ScenarioError(
                f"trace {trace.path}: trace_period_hours {period_hours:g} ({period:g} s) does not cover the last "
                f"arrival at {trace.last_arrival_s:g} s; set it above {trace.last_arrival_s / 3600:.6g} h"
            )
        return period
    return (math.floor(trace.last_arrival_s / slice_s) + 1) * slice_s


def replay_period_tokens(
    trace: Trace,
    *,
    period_s: float,
    window_s: float,
    scale: float,
    basis: Literal["total", "output"],
    rng: np.random.Generator,
) -> np.ndarray:
    """Tokens arriving in each peak window of one period of the replay. [tokens per window]

    ``scale`` superposes copies of the trace: the trace itself, then ``floor(scale) - 1``
    copies shifted circularly by offsets drawn uniformly over the period, then, for a
    fractional part f, one more shifted copy that keeps each request with probability f
    (below 1, the trace itself thinned). Each kept request carries its exact tokens.
    """
    windows = round(period_s / window_s)
    if windows < 1 or not math.isclose(windows * window_s, period_s, rel_tol=1e-9):
        raise ScenarioError(
            f"trace {trace.path}: period {period_s:g} s is not a whole number of peak windows of {window_s:g} s"
        )
    tokens = trace.tokens(basis).astype(float)
    whole = math.floor(scale)
    fraction = scale - whole
    copies: list[tuple[float, float]] = [(0.0, 1.0)] if whole >= 1 else [(0.0, fraction)]
    copies += [(float(rng.uniform(0.0, period_s)), 1.0) for _ in range(whole - 1)]
    if whole >= 1 and fraction > 0:
        copies.append((float(rng.uniform(0.0, period_s)), fraction))
    out = np.zeros(windows)
    for offset, keep_probability in copies:
        times = np.mod(trace.arrived_at_s + offset, period_s)
        weights = tokens
        if keep_probability < 1.0:
            kept = rng.random(trace.requests) < keep_probability
            times, weights = times[kept], tokens[kept]
        index = np.minimum((times // window_s).astype(np.int64), windows - 1)  # float guard at the period's end
        out += np.bincount(index, weights=weights, minlength=windows)
    return out
