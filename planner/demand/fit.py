"""Fit a workload spec to a request trace (`planner demand fit TRACE`).

From a trace (planner/demand/trace.py) it estimates what a profile workload needs:

* ``input_tokens`` and ``output_tokens``: sample mean and median of the lengths, the two
  moments that fix the lognormal the simulator draws from;
* ``mean_tokens_per_s``: counted tokens over the trace's span, the span being
  (last - first arrival) x n / (n - 1), i.e. n mean inter-arrival times;
* ``burstiness``: the coefficient of variation of the inter-arrival times (1 = Poisson).

A trace of an hour says nothing of the daily or weekly shape; those stay at their
defaults (flat) and are for the planner to set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NotRequired, TypedDict

import numpy as np

from planner.demand.spec import WorkloadTraffic
from planner.demand.trace import Trace, read_trace
from planner.errors import ScenarioError
from planner.inputs import validate_model

SIGNIFICANT = 4


def _round(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT}g}")


class LengthsDoc(TypedDict):
    mean: float  # [tokens]
    median: float  # [tokens]


class WorkloadSpecDoc(TypedDict):
    """A fitted workload as a scenario's ``demand.workloads.<name>`` mapping (validates as WorkloadTraffic)."""

    mean_tokens_per_s: float  # [tokens/s]
    burstiness: float  # [1]
    input_tokens: LengthsDoc
    output_tokens: LengthsDoc
    tokens_basis: NotRequired[Literal["output"]]  # absent: total (the default)


class TraceFitDoc(TypedDict):
    """The JSON document of `planner demand fit --json`."""

    trace: str
    requests: int
    span_s: float  # [s]
    requests_per_s: float  # [requests/s]
    total_tokens: int  # [tokens]
    tokens_basis: Literal["total", "output"]
    workload: WorkloadSpecDoc


@dataclass(frozen=True)
class TraceFit:
    """Estimates from one trace."""

    path: Path
    requests: int
    span_s: float  # n mean inter-arrival times [s]
    requests_per_s: float  # [requests/s]
    mean_tokens_per_s: float  # counted tokens over the span [tokens/s]
    total_tokens: int  # counted tokens in the trace [tokens]
    burstiness: float  # CV of inter-arrival times [1]
    input_mean: float  # [tokens]
    input_median: float  # [tokens]
    output_mean: float  # [tokens]
    output_median: float  # [tokens]
    tokens_basis: Literal["total", "output"]

    def workload_spec(self) -> WorkloadSpecDoc:
        """The fitted workload as a scenario's `demand.workloads.<name>` mapping (4 significant digits)."""
        spec: WorkloadSpecDoc = {
            "mean_tokens_per_s": _round(self.mean_tokens_per_s),
            "burstiness": _round(self.burstiness),
            "input_tokens": {"mean": _round(self.input_mean), "median": _round(self.input_median)},
            "output_tokens": {"mean": _round(self.output_mean), "median": _round(self.output_median)},
        }
        if self.tokens_basis == "output":
            spec["tokens_basis"] = "output"
        return spec

    def to_dict(self) -> TraceFitDoc:
        return {
            "trace": str(self.path),
            "requests": self.requests,
            "span_s": self.span_s,
            "requests_per_s": self.requests_per_s,
            "total_tokens": self.total_tokens,
            "tokens_basis": self.tokens_basis,
            "workload": self.workload_spec(),
        }


def fit_trace(path: Path, tokens_basis: Literal["total", "output"] = "total") -> TraceFit:
    """Estimate a profile workload from a trace file; the result validates as a WorkloadTraffic."""
    return fit_loaded_trace(read_trace(Path(path)), tokens_basis)


def fit_loaded_trace(trace: Trace, tokens_basis: Literal["total", "output"] = "total") -> TraceFit:
    if trace.requests < 3:
        raise ScenarioError(
            f"trace {trace.path}: {trace.requests} request(s); fitting a rate and burstiness needs at least 3"
        )
    gaps = np.diff(trace.arrived_at_s)
    mean_gap = float(gaps.mean())
    if mean_gap <= 0:
        raise ScenarioError(f"trace {trace.path}: every request arrives at the same time; no rate can be fitted")
    span_s = mean_gap * trace.requests
    counted = int(trace.tokens(tokens_basis).sum())
    fit = TraceFit(
        path=trace.path,
        requests=trace.requests,
        span_s=span_s,
        requests_per_s=trace.requests / span_s,
        mean_tokens_per_s=counted / span_s,
        total_tokens=counted,
        burstiness=float(gaps.std(ddof=1)) / mean_gap,
        input_mean=float(trace.input_tokens.mean()),
        input_median=float(np.median(trace.input_tokens)),
        output_mean=float(trace.output_tokens.mean()),
        output_median=float(np.median(trace.output_tokens)),
        tokens_basis=tokens_basis,
    )
    try:
        validate_model(WorkloadTraffic, fit.workload_spec(), f"workload fitted to trace {trace.path}")
    except ScenarioError as exc:
        raise ScenarioError(
            f"{exc}\nthe simulator draws lengths from a lognormal (mean >= median > 0); these lengths do not "
            "fit one: write input_tokens and output_tokens by hand, or replay the trace itself (trace:)"
        ) from None
    return fit
