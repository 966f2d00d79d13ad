"""Size limits: work that would exhaust memory or time is refused up front, with an estimate.

Each limit is far above any real planning run and far below what a laptop cannot finish:

* ``MAX_INPUT_BYTES``: a scenario, catalog, plan, curve or trace file is read at most this
  far (``/dev/zero`` or a multi-gigabyte file is refused, not read to the end);
* ``MAX_SLICES``: slices of a load curve, read or generated (a million hourly slices is 114
  years; the 8,760-slice year plans in seconds);
* ``MAX_DEMAND_WINDOWS``: peak windows the demand simulator draws (replicas x workloads x
  slices x windows per slice; the shipped full year is 1.05M and takes about 2 s);
* ``MAX_TRACE_REQUESTS``: requests a replayed trace expands to (replicas x rows x scale x
  tiles; ``scenarios/chat-and-code.yaml`` expands 5 x 8,819 x 20 x 672 = 0.59 billion and
  its demand takes about 5 s);
* ``MAX_WINDOW_REQUESTS``: requests the validation simulator's request-level windows draw
  (SimPy serves about 10^5 per second: the default scenario's two windows draw about 0.7M);
* ``DEFAULT_MAX_POINTS``: points a sweep may have unless ``--max-points`` raises it.
"""

from __future__ import annotations

from pathlib import Path

from planner.errors import ScenarioError

MAX_INPUT_BYTES = 256 * 2**20  # [bytes]
MAX_SLICES = 1_000_000  # [slices]
MAX_DEMAND_WINDOWS = 100_000_000  # [peak windows]
MAX_TRACE_REQUESTS = 10_000_000_000  # [requests]
MAX_WINDOW_REQUESTS = 20_000_000  # [requests]
DEFAULT_MAX_POINTS = 2_000  # [points] a sweep may have unless raised (--max-points)


def read_text_bounded(path: Path, what: str, encoding: str = "utf-8") -> str:
    """The text of ``path``, refusing more than MAX_INPUT_BYTES: a regular file by its size
    (without reading it), a device or pipe after reading one byte past the limit."""
    too_large = ScenarioError(
        f"{what} {path} is larger than {MAX_INPUT_BYTES // 2**20} MB (the limit for an input file); "
        "is it the right file?"
    )
    try:
        if Path(path).stat().st_size > MAX_INPUT_BYTES:
            raise too_large
        with open(path, "rb") as f:
            data = f.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"cannot read {what} {path}: {exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise too_large
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"cannot read {what} {path}: not {encoding} text ({exc})") from None


def check_count(count: float, limit: int, what: str, fix: str) -> None:
    """Refuse ``count`` units of work above ``limit``, saying how much and how to shrink it."""
    if count > limit:
        raise ScenarioError(f"{what}: {count:,.0f}, above the limit of {limit:,}; {fix}")
