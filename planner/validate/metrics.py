"""What a validation run reports (FleetSimResult) and the SLO targets it measures against.

**SLO attainment** is the share of requests (over the whole span) that are served, waited
for a batch slot no longer than ``max_queue_delay_s`` (the queueing part of time to first
token; prefill comes on top and is in the throughput figure), were not interrupted by a
failure, and streamed at or above the workload's interactivity target (tok/s/user; met by
construction unless a failure domain cannot hold even one request at the target, see
pools.py). Requests that wait longer than ``patience_s`` give up: unserved.

**Realised cost per million tokens**: every deployed GPU is paid for the whole span (busy,
idle or failed), plus electricity where billed (idle draw for every GPU, busy increment for
the GPU-hours actually busy), divided by the tokens actually served.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import cast

from typing_extensions import TypedDict  # pydantic reads SkuReliability (the validation schema)

DEFAULT_MAX_QUEUE_DELAY_S = 1.0  # estimate [E]: queueing share of a few-second TTFT budget for 8k prompts
DEFAULT_PATIENCE_S = 60.0  # estimate [E]: a user or client timeout gives up after a minute

Cell = str | int | float | bool | None  # one value of a validation_slices.csv row


@dataclass(frozen=True)
class SloTargets:
    max_queue_delay_s: float = DEFAULT_MAX_QUEUE_DELAY_S  # [s]
    patience_s: float = DEFAULT_PATIENCE_S  # [s]


@dataclass(frozen=True)
class WindowSummary:
    """One request-level window."""

    hour: float  # start of its slice [h]
    selected_by: str  # demand_peak (highest demand / fleet capacity) | most_loaded_pool
    offset_s: float  # start of the simulated stretch within the slice [s]
    duration_s: float  # measured duration [s]
    requests: int  # measured requests
    slo_attainment: float  # [1]
    served_fraction: float  # [1]
    analytic_slo_attainment: float  # what the coarse model says for the same slice [1]
    queue_delay_s: dict[str, float]  # p50, p90, p99, max of served requests [s]
    utilization: dict[str, float]  # busy / available slots per SKU in the window [1]
    interrupted: int
    events: int
    wall_s: float
    dropped: int = 0  # measured requests that gave up [requests]
    initial_queue: dict[str, int] = field(default_factory=dict)  # "sku/workload" -> queued at the start [requests]
    # measured per workload, then "all" and per SKU: requests, p_wait, p_late (wait > max_queue_delay_s),
    # mean_s, p95_s, p99_s (a request that gave up counts as waiting the patience) [1], [s]
    queueing: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class FleetSimResult:
    scenario: str
    seed: int
    router: str
    failures: bool
    targets: SloTargets
    slo_attainment: float  # span, request-weighted [1]
    served_fraction: float  # span, requests [1]
    # measured requests of the request-level windows: the demand peak slice (highest demand
    # relative to the fleet's capacity) first, then the slices with the most loaded pool [1]
    peak_slo_attainment: float
    queue_delay_s: dict[str, float]  # percentiles over the windows [s]
    utilization: dict[str, float]  # per SKU, busy GPU-hours / deployed GPU-hours over the span [1]
    realized_cost_per_million_tokens: float  # [$/M tokens]
    planned_cost_per_million_tokens: float  # [$/M tokens]
    realized_cost_usd: float
    tokens_served: float
    tokens_demanded: float
    availability: dict[str, dict[str, float]]  # per SKU: expected (MTBF/(MTBF+MTTR)) and simulated [1]
    unavailable_gpus: dict[str, list[float]]  # per SKU, time-average GPUs down per slice [GPUs]
    slice_hours: list[float]  # start of each slice [h]
    slice_slo_attainment: list[float]  # [1]
    windows: list[WindowSummary] = field(default_factory=list)
    reliability: dict[str, SkuReliability] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    scenario_sha256: str = ""  # content hash of the scenario validated (planner.scenario.load)
    # per workload and "total": {"tokens"|"requests": {demanded, served, dropped, backlog, interrupted}},
    # whole numbers with demanded == served + dropped + backlog exactly; interrupted (hit by a
    # failure, restarted) is a part of served and dropped [tokens], [requests]
    accounting: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    # coarse model over the span, per workload: "all" and per SKU: p_wait, p_late, mean_s, p95_s,
    # p99_s of min(wait, patience), at each slice's peak rate (fluid.py) [1], [s]
    queueing: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    # per slice, all workloads: tokens served and dropped in it, and queued at its end (fluid model) [tokens]
    slice_tokens: dict[str, list[float]] = field(default_factory=dict)
    # the coarse model's threshold and how many (pool, slice) pairs used each model
    coarse_models: dict[str, float] = field(default_factory=dict)

    def slice_rows(self) -> list[dict[str, Cell]]:
        """Per slice: hour, SLO attainment, tokens served / dropped / backlog, GPUs down
        per SKU (validation_slices.csv; the API's ValidationResult.to_frame())."""
        rows = []
        for t, hour in enumerate(self.slice_hours):
            row: dict[str, Cell] = {"hour": hour, "slo_attainment": self.slice_slo_attainment[t]}
            for key, values in self.slice_tokens.items():
                row[f"tokens_{key}"] = values[t]
            for sku, down in self.unavailable_gpus.items():
                row[f"{sku}.gpus_down"] = down[t]
            rows.append(row)
        return rows

    def to_dict(self) -> FleetSimResultDoc:
        return cast(FleetSimResultDoc, asdict(self))  # asdict: the fields below, nested dataclasses as dicts


# --- the validation document (`planner validate --json`, validation.json): FleetSimResult as asdict writes it


class SloTargetsDoc(TypedDict):
    max_queue_delay_s: float  # [s]
    patience_s: float  # [s]


class WindowSummaryDoc(TypedDict):
    hour: float
    selected_by: str
    offset_s: float
    duration_s: float
    requests: int
    slo_attainment: float
    served_fraction: float
    analytic_slo_attainment: float
    queue_delay_s: dict[str, float]
    utilization: dict[str, float]
    interrupted: int
    events: int
    wall_s: float
    dropped: int
    initial_queue: dict[str, int]
    queueing: dict[str, dict[str, dict[str, float]]]


class SkuReliability(TypedDict):
    """One SKU's entry of ``reliability`` (planner.validate.sim)."""

    basis: str  # catalog | scenario | default (...) | options (--mtbf-hours / --mttr-hours)
    mtbf_hours_per_gpu: float | None  # None: never fails [h]
    mttr_hours: float  # [h]
    gpus_per_failure_domain: int
    failure_domains: int
    failures: int
    maintenance_domain_hours: float  # [domain-h]


class FleetSimResultDoc(TypedDict):
    scenario: str
    seed: int
    router: str
    failures: bool
    targets: SloTargetsDoc
    slo_attainment: float
    served_fraction: float
    peak_slo_attainment: float
    queue_delay_s: dict[str, float]
    utilization: dict[str, float]
    realized_cost_per_million_tokens: float
    planned_cost_per_million_tokens: float
    realized_cost_usd: float
    tokens_served: float
    tokens_demanded: float
    availability: dict[str, dict[str, float]]
    unavailable_gpus: dict[str, list[float]]
    slice_hours: list[float]
    slice_slo_attainment: list[float]
    windows: list[WindowSummaryDoc]
    reliability: dict[str, SkuReliability]
    notes: list[str]
    timings: dict[str, float]
    scenario_sha256: str
    accounting: dict[str, dict[str, dict[str, int]]]
    queueing: dict[str, dict[str, dict[str, float]]]
    slice_tokens: dict[str, list[float]]
    coarse_models: dict[str, float]
