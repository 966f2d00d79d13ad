"""Scenario files (YAML): what a user writes by hand. `planner schema` prints this as JSON Schema.

A scenario names the SKUs considered (catalog ids or inline definitions), the workloads
and their service levels, the demand (a load curve CSV or a generated demand section),
economics, constraints, the existing fleet, the objective and solver options.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Tag,
    field_validator,
    model_validator,
)

from planner.demand.spec import GeneratedDemand
from planner.scenario.buildout import BuildoutSpec


class Strict(BaseModel):
    """Unknown keys are errors; values are immutable; NaN and inf are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Owned(Strict):
    """Buy: capex recovered over an economic life, plus fixed opex and site energy."""

    kind: Literal["owned"]
    capex_usd_per_gpu: PositiveFloat = Field(le=1e9, description="Purchase price per GPU. [$/GPU]")
    life_years: PositiveFloat = Field(le=100, description="Economic life: the annuity is capex x CRF(r, life). [years]")
    fixed_opex_usd_per_gpu_hour: float = Field(
        default=0.0, ge=0, le=1e6, description="Colocation, network, support per installed GPU-hour. [$/GPU-h]"
    )


class Reserved(Strict):
    """Reserve: a committed rate for every hour of the term, busy or idle, plus site energy."""

    kind: Literal["reserved"]
    usd_per_gpu_hour: PositiveFloat = Field(le=1e6, description="Committed rate. [$/GPU-h]")
    term_months: PositiveFloat = Field(
        le=1200,
        description="Commitment: a buildout bills the rate for every hour of the term (its units stay for the whole "
        "term); a plan bills every hour of its span. [months]",
    )
    upfront: bool = Field(
        default=False,
        description="A buildout charges the whole term's commitment in the period the reservation starts, "
        "instead of its hours in each period of the term.",
    )


class OnDemand(Strict):
    """Rent on demand in the cloud: paid per busy GPU-hour only, energy included, up to max_gpus."""

    kind: Literal["on_demand"]
    usd_per_gpu_hour: PositiveFloat = Field(le=1e6, description="Rate per busy GPU-hour. [$/GPU-h]")
    max_gpus: PositiveFloat | None = Field(
        default=None, le=1e12, description="What the provider will give, summed over workloads, in every slice. [GPUs]"
    )


Procurement = Annotated[Union[Owned, Reserved, OnDemand], Field(discriminator="kind")]  # noqa: UP007


class Site(Strict):
    """A facility: its power, floor, rack density and liquid-cooling loop, PUE and electricity price."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Site id ('cloud' is reserved).")
    power_cap_mw: PositiveFloat | None = Field(
        default=None, le=1e6, description="Facility power at full load, after PUE. [MW]"
    )
    pue: float | None = Field(default=None, ge=1.0, le=3.0, description="PUE; default economics.pue. [1]")
    electricity_usd_per_kwh: float | None = Field(
        default=None, ge=0, le=100, description="Electricity price; default economics.electricity_usd_per_kwh. [$/kWh]"
    )
    rack_positions: NonNegativeInt | None = Field(default=None, le=10_000_000, description="Floor positions. [racks]")
    max_kw_per_rack: PositiveFloat | None = Field(
        default=None, le=10_000, description="IT power one position can feed and cool. [kW]"
    )
    liquid_cooling_mw: float | None = Field(
        default=None, ge=0, le=1e6, description="IT power the liquid loop can remove; default unlimited. [MW]"
    )

    @field_validator("id")
    @classmethod
    def _not_cloud(cls, value: str) -> str:
        if value == "cloud":
            raise ValueError("'cloud' is the implicit site of on_demand capacity; give the site another id")
        return value


class ExistingEntry(Strict):
    """Units already installed at a site."""

    units: NonNegativeInt = Field(le=1e12, description="Installed units. [units]")
    site: str | None = Field(default=None, description="Site id; default: the only site.")
    procurement: Literal["owned", "reserved"] = Field(
        default="owned", description="owned (capital sunk: kept, it costs fixed opex and energy) or reserved."
    )
    age_years: float = Field(
        default=0.0, ge=0, le=100, description="Age at the start (buildout: what is left of its life). [years]"
    )
    may_retire: bool = Field(default=False, description="The plan may decommission it, unit by unit.")
    decommission_usd_per_unit: float | None = Field(
        default=None, ge=0, le=1e12, description="One-off cost of decommissioning a unit (with may_retire). [$]"
    )

    @model_validator(mode="after")
    def _retire_cost_needs_retire(self) -> ExistingEntry:
        if self.decommission_usd_per_unit is not None and not self.may_retire:
            raise ValueError("decommission_usd_per_unit applies only with may_retire: true")
        if self.may_retire and self.procurement == "reserved":
            raise ValueError("a reservation is committed; it cannot retire (may_retire applies to owned units)")
        return self


def _existing_form(value: Any) -> str:
    """Which form an existing entry takes: a count, a mapping, or a list of mappings."""
    if isinstance(value, list):
        return "sites"
    if isinstance(value, dict | ExistingEntry):
        return "at"
    return "units"


Existing = Annotated[
    Union[  # noqa: UP007
        Annotated[NonNegativeInt, Tag("units")],
        Annotated[ExistingEntry, Tag("at")],
        Annotated[list[ExistingEntry], Tag("sites")],
    ],
    Discriminator(_existing_form),
]


class SkuEntry(Strict):
    """A SKU considered by the plan.

    A plain string in `skus:` names a catalog SKU. A mapping whose `id` is a catalog SKU
    takes the catalog figures and overrides the fields it sets; any other mapping is an
    inline SKU and must set `gpus_per_unit`, `power_kw_per_gpu`, `cost_per_gpu_hour` and
    `throughput`.
    """

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="SKU id.")
    family: str | None = Field(default=None, description="hopper, blackwell, ... (inline default: other).")
    gpus_per_unit: PositiveInt | None = Field(
        default=None, le=1_000_000, description="GPUs per deployable unit. [GPUs]"
    )
    power_kw_per_gpu: PositiveFloat | None = Field(
        default=None, le=1000, description="IT power per GPU at full load; facility draw = this x PUE. [kW]"
    )
    idle_power_kw_per_gpu: float | None = Field(
        default=None, ge=0, le=1000, description="IT power per idle GPU; default 30% of power_kw_per_gpu. [kW]"
    )
    cost_per_gpu_hour: PositiveFloat | None = Field(
        default=None, le=1e6, description="All-in $ per deployed GPU-hour, busy or idle. [$/GPU-h]"
    )
    energy_billed: bool | None = Field(
        default=None, description="True: electricity is billed on top of cost_per_gpu_hour. Default false."
    )
    capex_usd_per_gpu: PositiveFloat | None = Field(
        default=None, le=1e9, description="Purchase price per GPU, for constraints.capex_budget_usd. [$/GPU]"
    )
    max_units: NonNegativeInt | None = Field(default=None, le=1e12, description="Supply limit. [units]")
    throughput: dict[str, Annotated[float, Field(gt=0, le=1e9)]] | None = Field(
        default=None, description="Delivered total tokens/s per GPU per workload at its service level. [tokens/s]"
    )
    mtbf_hours_per_gpu: PositiveFloat | None = Field(default=None, description="Mean time between failures. [h]")
    mttr_hours: PositiveFloat | None = Field(default=None, description="Mean time to repair. [h]")
    units_per_rack: PositiveInt | None = Field(
        default=None,
        le=1000,
        description="At most this many units per rack position; default 1 for rack-scale catalog SKUs. [units]",
    )
    cooling: Literal["air", "liquid"] | None = Field(
        default=None, description="air or liquid; default: the catalog's (inline: air)."
    )
    procurement: list[Procurement] | None = Field(
        default=None,
        min_length=1,
        description="Ways to get it (owned, reserved, on_demand), each a column of the plan; default: "
        "cost_per_gpu_hour per installed GPU-hour, as without sites.",
    )
    lead_time_months: float | None = Field(
        default=None,
        ge=0,
        le=120,
        description="Buildout: a purchase is racked this many months after its order. [months]",
    )

    @model_validator(mode="after")
    def _one_of_each_kind(self) -> SkuEntry:
        kinds = [p.kind for p in self.procurement or []]
        if dups := sorted({k for k in kinds if kinds.count(k) > 1}):
            raise ValueError(f"procurement lists {', '.join(dups)} more than once; give one entry per kind")
        if self.procurement is not None and self.cost_per_gpu_hour is not None:
            raise ValueError(
                "give either cost_per_gpu_hour or procurement (each entry carries its own price), not both"
            )
        return self

    @model_validator(mode="after")
    def _idle_below_full(self) -> SkuEntry:
        if (
            self.idle_power_kw_per_gpu is not None
            and self.power_kw_per_gpu is not None
            and self.idle_power_kw_per_gpu > self.power_kw_per_gpu
        ):
            raise ValueError(
                f"idle_power_kw_per_gpu {self.idle_power_kw_per_gpu} is above power_kw_per_gpu {self.power_kw_per_gpu}"
            )
        return self


class WorkloadEntry(Strict):
    """Maps a load-curve column to a catalog workload and its service level."""

    catalog: str | None = Field(default=None, description="Catalog workload id; default: the column name.")
    interactivity: PositiveFloat | None = Field(
        default=None, description="Service level; default: the catalog workload's. [tok/s/user]"
    )
    sites: list[str] | None = Field(
        default=None, min_length=1, description="Sites that may serve it ('cloud': on-demand); default every site."
    )
    curve: str | None = Field(
        default=None,
        description="Curve file (relative to the scenario; `planner throughput import`) instead of a catalog "
        "workload; needs model, isl, osl and interactivity.",
    )
    model: str | None = Field(default=None, min_length=1, description="With curve: the model's name in the file.")
    isl: PositiveInt | None = Field(default=None, description="With curve: input sequence length. [tokens]")
    osl: PositiveInt | None = Field(default=None, description="With curve: output sequence length. [tokens]")
    estimate: bool = Field(
        default=False,
        description="With curve: a scenario SKU the file has no point for gets an estimated throughput "
        "(planner throughput estimate: transfer or roofline tier, with a band) instead of serving nothing.",
    )
    model_config_file: str | None = Field(
        default=None,
        alias="model_config",
        description="With estimate: the model's Hugging Face config.json (relative to the scenario); "
        "default: the reference model of that name.",
    )
    throughput_band: Literal["low", "mid", "high"] | None = Field(
        default=None,
        description="With estimate: plan on the band's low edge, its estimate (mid, default) or high edge.",
    )

    @model_validator(mode="after")
    def _curve_or_catalog(self) -> WorkloadEntry:
        if not self.estimate:
            extra = [
                k for k, v in (("model_config", self.model_config_file), ("throughput_band", self.throughput_band)) if v
            ]
            if extra:
                raise ValueError(f"{', '.join(extra)} apply with estimate: true (estimated throughput)")
        if self.estimate and self.curve is None:
            raise ValueError(
                "estimate: true applies to a curve workload (curve: a curve file); a catalog workload is measured"
            )
        shape = [k for k in ("model", "isl", "osl") if getattr(self, k) is not None]
        if self.curve is None:
            if shape:
                raise ValueError(f"{', '.join(shape)} apply with curve: (a curve file); a catalog workload has its own")
            return self
        if self.catalog is not None:
            raise ValueError("give either catalog (a catalog workload) or curve (a curve file), not both")
        missing = [k for k in ("model", "isl", "osl", "interactivity") if getattr(self, k) is None]
        if missing:
            raise ValueError(
                f"a curve workload needs {', '.join(missing)} (which points of the file, at what service level)"
            )
        return self


class Demand(GeneratedDemand):
    """Demand: a load curve CSV, or generated traffic (see the demand simulator)."""

    load_curve: str | None = Field(
        default=None,
        description="CSV path relative to the scenario: 'hour' then one column per workload [tokens/s]; "
        "optional '<workload>.peak' columns hold the peak within each slice.",
    )
    slice_hours: PositiveFloat | None = Field(
        default=None, description="Slice length; default: the spacing of the 'hour' column. [h]"
    )
    sizing_quantile: Literal["p50", "p95", "p99", "mean"] | None = Field(
        default=None, description="With replicas: size capacity on this band of the peaks; default p95."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Demand:
        generated = bool(self.workloads)
        if self.load_curve and generated:
            raise ValueError("give either demand.load_curve or demand.workloads, not both")
        if not self.load_curve and not generated:
            raise ValueError("demand needs load_curve (a CSV) or workloads (generated traffic)")
        generator_only = {
            "horizon_days",
            "slice_minutes",
            "peak_resolution_s",
            "seed",
            "replicas",
            "request_level_limit",
        }
        if self.load_curve and (stray := sorted(self.model_fields_set & generator_only)):
            raise ValueError(
                f"{', '.join(stray)} only apply to generated demand (demand.workloads); "
                "a load_curve CSV fixes its own slices"
            )
        if generated and self.slice_hours is not None:
            raise ValueError("slice_hours applies to a load_curve CSV; generated demand uses slice_minutes")
        return self


class Economics(Strict):
    pue: float = Field(default=1.3, ge=1.0, le=3.0, description="Power usage effectiveness. [1]")
    electricity_usd_per_kwh: float = Field(default=0.08, ge=0, description="Electricity price. [$/kWh]")
    pricing_tier: Literal["hyperscaler", "neocloud", "rental_3yr"] = Field(
        default="hyperscaler", description="$/GPU-hour tier for catalog SKUs."
    )
    power_basis: Literal["all_in", "it"] = Field(
        default="all_in",
        description="Catalog SKUs' facility power: all_in (published, PUE already in) or it (IT power x PUE). "
        "With sites, every SKU draws its IT power x the site's PUE.",
    )
    discount_rate: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Cost of capital of owned procurement: annuity = capex x CRF(rate, life); default 0.08 "
        "(buildout: buildout.discount_rate). [1/year]",
    )


class Constraints(Strict):
    power_cap_mw: PositiveFloat | None = Field(default=None, description="Facility power cap. [MW]")
    budget_usd_per_hour: PositiveFloat | None = Field(default=None, description="Run-rate budget. [$/h]")
    capex_budget_usd: PositiveFloat | None = Field(
        default=None, description="Purchase budget for new units of SKUs with a capex price. [$]"
    )
    max_utilization: float = Field(default=1.0, gt=0, le=1, description="Busy share cap per SKU pool. [1]")
    min_served_fraction: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="objective min_cost_per_token: serve at least this share of the demanded tokens; default: the "
        "most the caps allow (never less than max_tokens serves). [1]",
    )


class Solver(Strict):
    @field_validator("time_aggregation", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any) -> Any:
        """YAML reads bare on/off as booleans."""
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value

    backend: Literal["highs", "cbc"] = Field(default="highs", description="MILP solver.")
    mip_rel_gap: float = Field(default=1e-4, gt=0, le=0.1, description="Relative MIP gap. [1]")
    time_limit_s: PositiveFloat = Field(default=120.0, description="Time limit per solve. [s]")
    threads: PositiveInt = Field(default=1, description="Solver threads.")
    time_aggregation: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Time aggregation: auto (above ~20,000 busy variables, min_cost only), on, or off (exact).",
    )


Objective = Literal["min_cost", "max_tokens", "min_cost_per_token"]


class DemandScenario(Strict):
    """A file with only a demand section (for `planner demand`): no SKUs, nothing to plan."""

    name: str | None = Field(default=None, description="Name; default: the file's stem.")
    description: str | None = None
    demand: Demand


class Scenario(Strict):
    """A planning scenario."""

    name: str = Field(description="Scenario name.")
    description: str | None = None
    catalog: str | None = Field(default=None, description="Catalog directory relative to this file (default shipped).")
    skus: list[SkuEntry] = Field(min_length=1, description="Catalog ids (strings) or SKU mappings.")
    workloads: dict[str, WorkloadEntry] = Field(default_factory=dict)
    demand: Demand
    economics: Economics = Economics()
    constraints: Constraints = Constraints()
    sites: list[Site] | None = Field(
        default=None, min_length=1, description="Facilities; without it, one site from constraints and economics."
    )
    existing: dict[str, Existing] = Field(
        default_factory=dict,
        description="Units already deployed: a count, or {units, site, procurement, age_years, may_retire, "
        "decommission_usd_per_unit} (a list for several sites).",
    )
    objective: Objective = "min_cost"
    solver: Solver = Solver()
    buildout: BuildoutSpec | None = Field(default=None, description="Multi-period buildout (`planner buildout`).")

    @field_validator("skus", mode="before")
    @classmethod
    def _names_are_catalog_ids(cls, value: Any) -> Any:
        """A plain string `gb300-nvl72` is shorthand for `{id: gb300-nvl72}`."""
        if isinstance(value, list):
            return [{"id": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> Scenario:
        ids = self.sku_ids()
        dups = sorted({i for i in ids if ids.count(i) > 1})
        if dups:
            raise ValueError(f"duplicate SKU id(s) in skus: {', '.join(dups)}")
        return self

    @model_validator(mode="after")
    def _floor_needs_its_objective(self) -> Scenario:
        if self.constraints.min_served_fraction is not None and self.objective != "min_cost_per_token":
            raise ValueError(
                f"constraints.min_served_fraction ({self.constraints.min_served_fraction:g}) applies only to objective "
                f"min_cost_per_token, not {self.objective}; remove it or set objective: min_cost_per_token"
            )
        return self

    @model_validator(mode="after")
    def _unique_sites(self) -> Scenario:
        ids = [s.id for s in self.sites or []]
        if dups := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"duplicate site id(s) in sites: {', '.join(dups)}")
        return self

    def existing_entries(self, sku_id: str) -> list[ExistingEntry]:
        """The existing units of a SKU as entries (a bare count is one owned-or-as-priced entry)."""
        value = self.existing.get(sku_id)
        if value is None:
            return []
        if isinstance(value, int):
            return [ExistingEntry(units=value)] if value else []
        return list(value) if isinstance(value, list) else [value]

    def sku_ids(self) -> list[str]:
        return [s.id for s in self.skus]


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files."""
    return Scenario.model_json_schema()
