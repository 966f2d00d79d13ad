"""Schemas of the hardware and workload catalogs (``models/skus.yaml``, ``models/workloads.yaml``).

Every figure carries a ``source`` naming an entry of the file's ``sources`` table.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

FLOPS_KEY = re.compile(r"^(fp4|fp8|bf16|fp16)_(dense|sparse)$")
PRICING_TIERS = ("hyperscaler", "neocloud", "rental_3yr")


class Strict(BaseModel):
    """Base of every schema: unknown keys are errors, values are immutable, no NaN/inf."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Sourced(Strict):
    """Provenance shared by every figure."""

    source: str = Field(description="Key of the file's `sources` table.")
    derived: str | None = Field(default=None, description="Arithmetic done on sourced numbers.")
    note: str | None = None


class Figure(Sourced):
    """A positive sourced number."""

    value: PositiveFloat


class Fraction(Sourced):
    """A sourced share in [0, 1]."""

    value: float = Field(ge=0, le=1)


class RangeFigure(Sourced):
    """A sourced [low, high] range."""

    value: tuple[PositiveFloat, PositiveFloat]

    @model_validator(mode="after")
    def _ordered(self) -> RangeFigure:
        low, high = self.value
        if low > high:
            raise ValueError(f"range low {low} is above high {high}")
        return self

    @property
    def mid(self) -> float:
        return (self.value[0] + self.value[1]) / 2


class Unit(Sourced):
    """Deployment unit: an 8-GPU node or a 72-GPU rack."""

    kind: Literal["node", "rack"]
    gpus: PositiveInt
    cooling: Literal["air", "liquid"] = Field(default="air", description="How its heat is removed (the name says).")


class ScaleUp(Sourced):
    """The scale-up (NVLink / Infinity Fabric) domain a GPU sits in."""

    gpus: PositiveInt = Field(description="GPUs in one scale-up domain. [GPUs]")
    gb_per_s: PositiveFloat = Field(description="Bidirectional scale-up bandwidth per GPU. [GB/s]")


class Power(Strict):
    """Power per GPU. [kW]"""

    it_kw_per_gpu: Figure = Field(description="IT power per GPU at full load incl. host/network share. [kW]")
    all_in_kw_per_gpu: Figure = Field(
        description="Provisioned utility power per GPU incl. facility overhead (PUE already in). [kW]"
    )
    idle_fraction: Fraction = Field(description="Idle draw as a share of full-load power. [1]")


class Pricing(Strict):
    """All-in $ per GPU-hour by pricing tier. [$/GPU-h]"""

    hyperscaler: Figure
    neocloud: Figure
    rental_3yr: Figure


class Reliability(Strict):
    """Failure and repair figures for fleet validation."""

    mtbf_hours_per_gpu: Figure = Field(description="Mean GPU-hours between failures, per GPU. [h]")
    mttr_hours: Figure = Field(description="Mean time to repair a failure domain. [h]")
    gpus_per_failure_domain: Figure = Field(description="GPUs taken out by one failure. [GPUs]")


class CatalogSku(Strict):
    """A deployable GPU system."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    vendor: str
    family: str = Field(pattern=r"^[a-z0-9_]+$", description="hopper, blackwell, cdna, ...")
    unit: Unit
    memory_gb: Figure
    hbm_tb_per_s: Figure | None = Field(default=None, description="HBM bandwidth per GPU. [TB/s]")
    scale_up: ScaleUp | None = Field(default=None, description="Scale-up domain and bandwidth per GPU.")
    power: Power
    pricing: Pricing
    capex_usd_per_gpu: RangeFigure
    peak_tflops: dict[str, Figure] = Field(description="Peak TFLOPS per GPU by '<precision>_<dense|sparse>'.")
    reliability: Reliability

    @model_validator(mode="after")
    def _flops_keys(self) -> CatalogSku:
        bad = [k for k in self.peak_tflops if not FLOPS_KEY.match(k)]
        if bad:
            raise ValueError(f"peak_tflops keys must look like 'fp8_dense' or 'fp4_sparse', got {bad}")
        return self


class Defaults(Strict):
    economic_life_years: Figure


class SkuCatalogFile(Strict):
    """models/skus.yaml"""

    sources: dict[str, str]
    defaults: Defaults
    skus: list[CatalogSku] = Field(min_length=1)


class Series(Sourced):
    """One measurement set: points of (interactivity, throughput) for one SKU and config."""

    sku: str
    precision: str
    framework: str
    measured: str = Field(description="Date (or date range) of the measurement.")
    flops_basis: str | None = Field(default=None, description="peak_tflops key this config is compared on.")
    interactivity_inferred: bool = Field(default=False, description="True when the source does not state it.")
    points: list[tuple[PositiveFloat, PositiveFloat]] = Field(
        min_length=1, description="[interactivity tok/s/user, total tokens/s per GPU]"
    )

    @model_validator(mode="after")
    def _basis(self) -> Series:
        if self.flops_basis is not None and not FLOPS_KEY.match(self.flops_basis):
            raise ValueError(f"flops_basis must look like 'fp8_dense', got {self.flops_basis!r}")
        return self


class CatalogWorkload(Strict):
    """A served model at an input/output shape."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    model: str
    input_tokens: PositiveInt = Field(description="Nominal input length. [tokens]")
    output_tokens: PositiveInt = Field(description="Nominal output length. [tokens]")
    default_interactivity: Figure = Field(description="Default service level. [tok/s/user]")
    series: list[Series] = Field(min_length=1)


class Comparison(Strict):
    """A named `planner compare` preset."""

    id: str
    title: str
    workload: str
    interactivity: Figure = Field(description="Interactivity target. [tok/s/user]")
    skus: list[str] = Field(min_length=1)
    tier: Literal["hyperscaler", "neocloud", "rental_3yr"]


class WorkloadCatalogFile(Strict):
    """models/workloads.yaml"""

    sources: dict[str, str]
    workloads: list[CatalogWorkload] = Field(min_length=1)
    comparisons: list[Comparison] = Field(min_length=1)
