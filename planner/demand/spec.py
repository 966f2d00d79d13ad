"""The generated-demand part of a scenario's `demand:` section (schema only).

Token counts are total tokens (input + output) unless a workload sets
`tokens_basis: output`. The simulator (planner/demand/simulate.py) documents how each
field shapes the curve; cross-field rules live here so a bad section fails on load.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveFloat, PositiveInt, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TokenLengths(_Strict):
    """A token-length distribution given by mean and median: lognormal with those moments."""

    mean: PositiveFloat = Field(description="Mean length. [tokens]")
    median: PositiveFloat = Field(description="Median length. [tokens]")

    @model_validator(mode="after")
    def _lognormal(self) -> TokenLengths:
        if self.mean < self.median:
            raise ValueError(f"mean {self.mean} is below median {self.median}; a lognormal length needs mean >= median")
        return self

    @property
    def sigma(self) -> float:
        """Lognormal shape: sigma^2 = 2 ln(mean / median)."""
        return math.sqrt(2.0 * math.log(self.mean / self.median))

    @property
    def mu(self) -> float:
        return math.log(self.median)


class Event(_Strict):
    """Something that moves demand at a point in time.

    * launch: from `day`, load x `multiplier`, ramping in linearly over `ramp_days`; stays.
    * migration: from `day`, `share` of workload `source`'s load moves to this workload
      (ramping over `ramp_days`); stays.
    * outage: for `hours` from `day`, this workload's load moves to workload `to`
      (another region); none is lost.
    * spike: for `hours` from `day`, load x `multiplier`.
    """

    kind: Literal["launch", "migration", "outage", "spike"]
    day: NonNegativeFloat = Field(description="Start, days from the start of the horizon. [d]")
    multiplier: PositiveFloat | None = Field(default=None, description="launch, spike: load factor. [1]")
    ramp_days: NonNegativeFloat = Field(default=0.0, description="launch, migration: ramp-in time. [d]")
    hours: PositiveFloat | None = Field(default=None, description="outage, spike: duration. [h]")
    share: float | None = Field(default=None, gt=0, le=1, description="migration: share moved. [1]")
    source: str | None = Field(default=None, description="migration: workload the load comes from.")
    to: str | None = Field(default=None, description="outage: workload (region) that takes the load.")

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Event:
        need = {
            "launch": ["multiplier"],
            "migration": ["share", "source"],
            "outage": ["hours", "to"],
            "spike": ["multiplier", "hours"],
        }[self.kind]
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.kind} event needs {', '.join(missing)}")
        allowed = {*need, "kind", "day", *(["ramp_days"] if self.kind in ("launch", "migration") else [])}
        stray = sorted(self.model_fields_set - allowed)
        if stray:
            raise ValueError(
                f"a {self.kind} event does not use {', '.join(stray)} (it takes {', '.join(sorted(allowed))})"
            )
        return self


class WorkloadTraffic(_Strict):
    """Traffic of one workload: a profile (mean, daily and weekly shape, growth) or a replayed trace."""

    mean_tokens_per_s: PositiveFloat | None = Field(
        default=None, description="Mean over a whole week, weekends included, before growth. [tokens/s]"
    )
    peak_to_mean: float = Field(default=1.0, ge=1.0, description="Busiest hour of a weekday / its mean. [1]")
    peak_hour: float = Field(
        default=15.0, ge=0, lt=24, description="Local start of the busiest hour (15: 15:00-16:00). [h]"
    )
    weekend_factor: NonNegativeFloat = Field(default=1.0, description="Weekend daily mean / weekday mean. [1]")
    growth_per_month: float = Field(default=0.0, gt=-1, description="Compounding growth. [1/month]")
    burstiness: PositiveFloat = Field(default=1.0, description="CV of inter-arrival times (1 = Poisson). [1]")
    input_tokens: TokenLengths | None = Field(default=None, description="Input length distribution.")
    output_tokens: TokenLengths | None = Field(default=None, description="Output length distribution.")
    tokens_basis: Literal["total", "output"] = Field(default="total", description="Which tokens count.")
    events: list[Event] = Field(default_factory=list)
    trace: str | None = Field(default=None, description="CSV trace (arrived_at, prefill, decode tokens).")
    scale: PositiveFloat = Field(
        default=1.0,
        description="Trace rate multiplier: the trace plus scale - 1 copies shifted by random offsets "
        "(a fractional copy keeps each request with that probability). [1]",
    )
    trace_period_hours: PositiveFloat | None = Field(
        default=None,
        description="Length of the recording, the period a trace tiles with; default: its last arrival "
        "rounded up to a whole slice. [h]",
    )

    @model_validator(mode="after")
    def _profile_or_trace(self) -> WorkloadTraffic:
        if (self.mean_tokens_per_s is None) == (self.trace is None):
            raise ValueError("a workload needs exactly one of mean_tokens_per_s (a profile) or trace (a replay)")
        if self.peak_to_mean >= 24:
            raise ValueError(
                f"peak_to_mean {self.peak_to_mean} is not below 24: the busiest hour cannot carry the whole day"
            )
        if self.trace is not None:
            profile_only = [f for f in ("input_tokens", "output_tokens", "events") if getattr(self, f)]
            shaped = [
                name
                for name, value, default in (
                    ("peak_to_mean", self.peak_to_mean, 1.0),
                    ("weekend_factor", self.weekend_factor, 1.0),
                    ("growth_per_month", self.growth_per_month, 0.0),
                    ("burstiness", self.burstiness, 1.0),
                )
                if value != default
            ]
            if profile_only or shaped:
                raise ValueError(
                    f"a trace is replayed as recorded; {', '.join(profile_only + shaped)} apply to profiles only "
                    "(use scale for the rate, or `planner demand fit` to turn the trace into a profile)"
                )
            return self
        if self.scale != 1.0 or self.trace_period_hours is not None:
            raise ValueError("scale and trace_period_hours apply to a trace; for a profile set mean_tokens_per_s")
        need = ["output_tokens"] if self.tokens_basis == "output" else ["input_tokens", "output_tokens"]
        given = [f for f in need if getattr(self, f) is not None]
        if given and len(given) != len(need):
            missing = [f for f in need if f not in given]
            raise ValueError(
                f"tokens_basis {self.tokens_basis} counts {' + '.join(need)}: give {', '.join(missing)} too"
            )
        if not given and self.burstiness != 1.0:
            raise ValueError(
                f"burstiness {self.burstiness} needs {' and '.join(need)} (token lengths turn tokens/s into "
                "requests/s); without them the workload is a smooth profile with no sampling noise"
            )
        return self

    def tokens_per_request(self) -> tuple[float, float] | None:
        """Mean and variance of the counted tokens of one request, or None for a smooth profile. [tokens]"""
        parts = [self.output_tokens] if self.tokens_basis == "output" else [self.input_tokens, self.output_tokens]
        if any(p is None for p in parts):
            return None
        mean = sum(p.mean for p in parts)
        variance = sum(p.mean**2 * math.expm1(p.sigma**2) for p in parts)
        return mean, variance


class GeneratedDemand(_Strict):
    """Fields of a generated demand section."""

    horizon_days: PositiveFloat | None = Field(
        default=None,
        description="Length of the curve, a whole number of slices; default: 7, or with traces only the "
        "longest trace (rounded up to whole slices). The horizon starts on a Monday at 00:00. [d]",
    )
    slice_minutes: PositiveFloat = Field(default=60.0, description="Slice length of the curve. [min]")
    peak_resolution_s: PositiveFloat = Field(
        default=60.0, description="Window over which the within-slice peak is measured (busiest minute). [s]"
    )
    seed: int = Field(default=0, ge=0, description="Seed of every random draw.")
    replicas: PositiveInt = Field(default=1, description="Monte Carlo replicas for P50/P95/P99 bands.")
    request_level_limit: PositiveInt = Field(
        default=2_000_000,
        description="A profile expecting at most this many requests over the horizon is simulated request by "
        "request; above it, counts and token sums are drawn per peak window. [requests]",
    )
    workloads: dict[str, WorkloadTraffic] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> GeneratedDemand:
        problems: list[str] = []
        slice_s = self.slice_minutes * 60.0
        per_slice = slice_s / self.peak_resolution_s
        too_big = [
            f"{name} {value:g} is far outside any real range"
            for name, value in (("slice_minutes", slice_s), ("peak windows per slice", per_slice))
            if not math.isfinite(value) or value > 1e12
        ]
        if self.horizon_days is not None and not (self.horizon_days * 86400.0 / slice_s < 1e12):
            too_big.append(f"horizon_days {self.horizon_days:g} is far outside any real range")
        if too_big:
            raise ValueError("; ".join(too_big))
        if abs(per_slice - round(per_slice)) > 1e-9 * per_slice or round(per_slice) < 1:
            problems.append(
                f"slice_minutes {self.slice_minutes:g} ({slice_s:g} s) is not a whole number of "
                f"peak_resolution_s {self.peak_resolution_s:g}"
            )
        if self.horizon_days is not None:
            slices = self.horizon_days * 86400.0 / slice_s
            if abs(slices - round(slices)) > 1e-9 * slices or round(slices) < 1:
                problems.append(
                    f"horizon_days {self.horizon_days:g} is not a whole number of slices of {self.slice_minutes:g} min"
                )
        shares: dict[str, float] = {}
        for name, traffic in self.workloads.items():
            for i, event in enumerate(traffic.events):
                where = f"workloads.{name}.events[{i}]"
                other = event.source if event.kind == "migration" else event.to if event.kind == "outage" else None
                if other is None:
                    continue
                key = "source" if event.kind == "migration" else "to"
                if other == name:
                    problems.append(f"{where}.{key}: '{other}' is the workload itself")
                elif other not in self.workloads:
                    problems.append(f"{where}.{key}: no workload '{other}' (workloads: {', '.join(self.workloads)})")
                elif self.workloads[other].trace is not None:
                    problems.append(f"{where}.{key}: '{other}' replays a trace; events move load between profiles")
                if event.kind == "migration" and event.share is not None:
                    shares[other] = shares.get(other, 0.0) + event.share
        for source, total in shares.items():
            if total > 1 + 1e-12:
                problems.append(f"migrations take {total:g} of workload '{source}' in all; the shares must sum to <= 1")
        if problems:
            raise ValueError("; ".join(problems))
        return self
