"""The generated-demand part of a scenario's `demand:` section (schema only).

Token counts are total tokens (input + output) unless a workload sets
`tokens_basis: output`.
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
        return self


class WorkloadTraffic(_Strict):
    """Traffic of one workload: a profile (mean, daily and weekly shape, growth) or a replayed trace."""

    mean_tokens_per_s: PositiveFloat | None = Field(
        default=None, description="Mean over a whole week, weekends included, before growth. [tokens/s]"
    )
    peak_to_mean: float = Field(default=1.0, ge=1.0, description="Busiest hour of a weekday / its mean. [1]")
    peak_hour: float = Field(default=15.0, ge=0, lt=24, description="Local hour of the daily peak. [h]")
    weekend_factor: NonNegativeFloat = Field(default=1.0, description="Weekend daily mean / weekday mean. [1]")
    growth_per_month: float = Field(default=0.0, gt=-1, description="Compounding growth. [1/month]")
    burstiness: PositiveFloat = Field(default=1.0, description="CV of inter-arrival times (1 = Poisson). [1]")
    input_tokens: TokenLengths | None = Field(default=None, description="Input length distribution.")
    output_tokens: TokenLengths | None = Field(default=None, description="Output length distribution.")
    tokens_basis: Literal["total", "output"] = Field(default="total", description="Which tokens count.")
    events: list[Event] = Field(default_factory=list)
    trace: str | None = Field(default=None, description="CSV trace (arrived_at, prefill, decode tokens).")
    scale: PositiveFloat = Field(default=1.0, description="Trace rate multiplier. [1]")

    @model_validator(mode="after")
    def _profile_or_trace(self) -> WorkloadTraffic:
        if (self.mean_tokens_per_s is None) == (self.trace is None):
            raise ValueError("a workload needs exactly one of mean_tokens_per_s (a profile) or trace (a replay)")
        return self


class GeneratedDemand(_Strict):
    """Fields of a generated demand section."""

    horizon_days: PositiveFloat | None = Field(
        default=None, description="Length of the curve; default: 7, or the longest trace. [d]"
    )
    slice_minutes: PositiveFloat = Field(default=60.0, description="Slice length of the curve. [min]")
    peak_resolution_s: PositiveFloat = Field(
        default=60.0, description="Window over which the within-slice peak is measured (busiest minute). [s]"
    )
    seed: int = Field(default=0, ge=0, description="Seed of every random draw.")
    replicas: PositiveInt = Field(default=1, description="Monte Carlo replicas for P50/P95/P99 bands.")
    workloads: dict[str, WorkloadTraffic] = Field(default_factory=dict)
