"""No input without effect: every scenario field moves what a command consumes, or is refused.

``test_every_schema_field_moves_the_model_or_is_refused`` walks every leaf of the scenario
schema (a new field without a row here fails it), perturbs it in a small scenario where it
should matter, and checks that the effective model inputs (planner.scenario.effects.
model_inputs: prices after energy, facility power, curves, caps, request profiles,
reliability, the buildout's periods) change, or that loading refuses the scenario.
"""

from __future__ import annotations

import copy
import json
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from planner.cli.main import app
from planner.errors import ScenarioError
from planner.scenario.load import scenario_file
from planner.scenario.schema import Scenario

from helpers import digest, model_inputs

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
LABELS = {"name", "description"}  # they name the outputs, they do not enter any model


def schema_leaves() -> set[str]:
    """Every leaf field of the scenario schema, list and mapping keys folded away."""

    def models_in(ann) -> list[type[BaseModel]]:
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            return [ann]
        return [m for a in typing.get_args(ann) for m in models_in(a)]

    def plain_in(ann) -> bool:
        args = typing.get_args(ann)
        if typing.get_origin(ann) is typing.Annotated:
            return plain_in(args[0])
        if not args:
            return ann is not type(None) and not (isinstance(ann, type) and issubclass(ann, BaseModel))
        if typing.get_origin(ann) in (list, dict):
            return any(plain_in(a) for a in args[-1:])
        return any(plain_in(a) for a in args)

    out: set[str] = set()

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, f in model.model_fields.items():
            subs = models_in(f.annotation)
            for s in subs:
                walk(s, f"{prefix}{name}.")
            if not subs or plain_in(f.annotation):  # a field that also takes a plain value is a leaf too
                out.add(prefix + name)

    walk(Scenario, "")
    return out


def raw(name: str) -> dict:
    return yaml.safe_load((SCENARIOS / name).read_text())


def small_generated() -> dict:
    """chat-and-code over two days and two replicas, its chat with a launch event."""
    d = raw("chat-and-code.yaml")
    d["demand"].update(horizon_days=2, replicas=2)
    d["demand"]["workloads"]["chat"]["events"] = [{"kind": "launch", "day": 1, "multiplier": 1.5, "ramp_days": 0.5}]
    return d


def small_chat() -> dict:
    """The chat workload alone at 1,000 tokens/s: few enough requests to be drawn one by one."""
    d = small_generated()
    chat = {**d["demand"]["workloads"]["chat"], "mean_tokens_per_s": 1000.0}
    d["demand"]["workloads"] = {"chat": chat}
    d["workloads"] = {"chat": d["workloads"]["chat"]}
    return d


def sites() -> dict:
    """two-sites.yaml on the default load curve (chat and fast), plan only."""
    d = raw("two-sites.yaml")
    d.pop("buildout")
    d["demand"] = {"load_curve": "default-demand.csv"}
    d["workloads"] = {}
    for e in d["skus"]:
        e["throughput"] = {"chat": e["throughput"]["chat"], "fast": e["throughput"]["chat"] / 4}
    return d


def sites_buildout() -> dict:
    d = sites()
    d["buildout"] = {"start": "2027-01-01", "period_months": 3, "periods": 2}
    return d


BASES = {
    "curve": (lambda: raw("qwen3-curve.yaml"), SCENARIOS / "qwen3-curve.yaml"),
    "sites": (sites, SCENARIOS / "default.yaml"),
    "sites-buildout": (sites_buildout, SCENARIOS / "default.yaml"),
    "default": (lambda: raw("default.yaml"), SCENARIOS / "default.yaml"),
    "billed": (
        lambda: {**raw("default.yaml"), "skus": ["h200-sxm", {"id": "b200-sxm", "energy_billed": True}]},
        SCENARIOS / "default.yaml",
    ),
    "generated": (small_generated, SCENARIOS / "chat-and-code.yaml"),
    "generated-small": (small_chat, SCENARIOS / "chat-and-code.yaml"),
    "buildout": (lambda: raw("buildout.yaml"), SCENARIOS / "buildout.yaml"),
    "hourly-buildout": (
        lambda: {**raw("buildout.yaml"), "buildout": {**raw("buildout.yaml")["buildout"], "pricing": "hourly"}},
        SCENARIOS / "buildout.yaml",
    ),
}


def set_raw(data: dict, path: tuple, value) -> None:
    node = data
    for key in path[:-1]:
        if isinstance(node, list) and isinstance(node[key], str):
            node[key] = {"id": node[key]}  # a plain SKU id becomes a mapping
        node = node[key] if not isinstance(node, dict) else node.setdefault(key, {})
    node[path[-1]] = value


# leaf -> (base, [(path, value), ...]): a change where the field should matter
CASES: dict[str, tuple[str, list[tuple[tuple, object]]]] = {
    "catalog": ("default", [(("catalog",), "CATALOG")]),
    "skus.id": ("default", [(("skus", 1), "b300-sxm")]),
    "skus.family": ("default", [(("skus", 0, "family"), "blackwell")]),
    "skus.gpus_per_unit": ("default", [(("skus", 0, "gpus_per_unit"), 4)]),
    "skus.power_kw_per_gpu": ("default", [(("skus", 0, "power_kw_per_gpu"), 1.0)]),
    "skus.idle_power_kw_per_gpu": ("billed", [(("skus", 1, "idle_power_kw_per_gpu"), 0.5)]),
    "skus.cost_per_gpu_hour": ("default", [(("skus", 0, "cost_per_gpu_hour"), 2.0)]),
    "skus.energy_billed": ("default", [(("skus", 0, "energy_billed"), True)]),
    "skus.capex_usd_per_gpu": ("default", [(("skus", 0, "capex_usd_per_gpu"), 30000.0)]),
    "skus.max_units": ("default", [(("skus", 3, "max_units"), 10)]),
    "skus.throughput": ("default", [(("skus", 0, "throughput"), {"chat": 2000.0})]),
    "skus.mtbf_hours_per_gpu": ("default", [(("skus", 0, "mtbf_hours_per_gpu"), 1000.0)]),
    "skus.mttr_hours": ("default", [(("skus", 0, "mttr_hours"), 10.0)]),
    "workloads.catalog": ("default", [(("workloads", "chat", "catalog"), "deepseek-r1-1k1k")]),
    "workloads.interactivity": ("default", [(("workloads", "chat", "interactivity"), 50.0)]),
    "demand.horizon_days": ("generated", [(("demand", "horizon_days"), 3)]),
    "demand.slice_minutes": ("generated", [(("demand", "slice_minutes"), 30)]),
    "demand.peak_resolution_s": ("generated", [(("demand", "peak_resolution_s"), 30)]),
    "demand.seed": ("generated", [(("demand", "seed"), 8)]),
    "demand.replicas": ("generated", [(("demand", "replicas"), 3)]),
    "demand.request_level_limit": ("generated-small", [(("demand", "request_level_limit"), 1000)]),
    "demand.workloads.mean_tokens_per_s": ("generated", [(("demand", "workloads", "chat", "mean_tokens_per_s"), 3e6)]),
    "demand.workloads.peak_to_mean": ("generated", [(("demand", "workloads", "chat", "peak_to_mean"), 2.2)]),
    "demand.workloads.peak_hour": ("generated", [(("demand", "workloads", "chat", "peak_hour"), 9)]),
    "demand.workloads.weekend_factor": (
        "generated",
        [(("demand", "horizon_days"), 7), (("demand", "workloads", "chat", "weekend_factor"), 0.8)],
    ),
    "demand.workloads.growth_per_month": ("generated", [(("demand", "workloads", "chat", "growth_per_month"), 0.5)]),
    "demand.workloads.burstiness": ("generated", [(("demand", "workloads", "chat", "burstiness"), 1.1)]),
    "demand.workloads.input_tokens.mean": (
        "generated",
        [(("demand", "workloads", "chat", "input_tokens", "mean"), 1400)],
    ),
    "demand.workloads.input_tokens.median": (
        "generated",
        [(("demand", "workloads", "chat", "input_tokens", "median"), 900)],
    ),
    "demand.workloads.output_tokens.mean": (
        "generated",
        [(("demand", "workloads", "chat", "output_tokens", "mean"), 300)],
    ),
    "demand.workloads.output_tokens.median": (
        "generated",
        [(("demand", "workloads", "chat", "output_tokens", "median"), 100)],
    ),
    "demand.workloads.tokens_basis": ("generated", [(("demand", "workloads", "chat", "tokens_basis"), "output")]),
    "demand.workloads.events.kind": (
        "generated",
        [(("demand", "workloads", "chat", "events", 0), {"kind": "spike", "day": 1, "multiplier": 1.5, "hours": 3})],
    ),
    "demand.workloads.events.day": ("generated", [(("demand", "workloads", "chat", "events", 0, "day"), 0.5)]),
    "demand.workloads.events.multiplier": (
        "generated",
        [(("demand", "workloads", "chat", "events", 0, "multiplier"), 2.0)],
    ),
    "demand.workloads.events.ramp_days": (
        "generated",
        [(("demand", "workloads", "chat", "events", 0, "ramp_days"), 0.1)],
    ),
    "demand.workloads.events.hours": (
        "generated",
        [(("demand", "workloads", "chat", "events", 0), {"kind": "spike", "day": 1, "multiplier": 1.5, "hours": 6})],
    ),
    "demand.workloads.events.share": (
        "generated",
        [
            (
                ("demand", "workloads", "chat", "events", 0),
                {"kind": "migration", "day": 1, "share": 0.3, "source": "code"},
            )
        ],
    ),
    "demand.workloads.events.source": (
        "generated",
        [
            (
                ("demand", "workloads", "chat", "events", 0),
                {"kind": "migration", "day": 1, "share": 0.3, "source": "code"},
            )
        ],
    ),
    "demand.workloads.events.to": (
        "generated",
        [(("demand", "workloads", "chat", "events", 0), {"kind": "outage", "day": 1, "hours": 4, "to": "code"})],
    ),
    "demand.workloads.trace": (
        "generated",
        [(("demand", "workloads", "code", "trace"), "traces/azure2023_conversation.csv")],
    ),
    "demand.workloads.scale": ("generated", [(("demand", "workloads", "code", "scale"), 10)]),
    "demand.workloads.trace_period_hours": ("generated", [(("demand", "workloads", "code", "trace_period_hours"), 2)]),
    "demand.load_curve": ("default", [(("demand", "load_curve"), "CURVE")]),
    "demand.slice_hours": ("default", [(("demand", "slice_hours"), 2)]),
    "demand.sizing_quantile": ("generated", [(("demand", "sizing_quantile"), "p50")]),
    "economics.pue": ("default", [(("economics", "power_basis"), "it"), (("economics", "pue"), 1.2)]),
    "economics.electricity_usd_per_kwh": ("billed", [(("economics", "electricity_usd_per_kwh"), 0.12)]),
    "economics.pricing_tier": ("default", [(("economics", "pricing_tier"), "neocloud")]),
    "economics.power_basis": ("default", [(("economics", "power_basis"), "it")]),
    "constraints.power_cap_mw": ("default", [(("constraints", "power_cap_mw"), 12.0)]),
    "constraints.budget_usd_per_hour": ("default", [(("constraints", "budget_usd_per_hour"), 50000.0)]),
    "constraints.capex_budget_usd": ("default", [(("constraints", "capex_budget_usd"), 1e9)]),
    "constraints.max_utilization": ("default", [(("constraints", "max_utilization"), 0.8)]),
    "constraints.min_served_fraction": (
        "default",
        [(("objective",), "min_cost_per_token"), (("constraints", "min_served_fraction"), 0.9)],
    ),
    "existing": ("default", [(("existing", "h200-sxm"), 40)]),
    "objective": ("default", [(("objective",), "max_tokens")]),
    "solver.backend": ("default", [(("solver", "backend"), "cbc")]),
    "solver.mip_rel_gap": ("default", [(("solver", "mip_rel_gap"), 1e-3)]),
    "solver.time_limit_s": ("default", [(("solver", "time_limit_s"), 60)]),
    "solver.threads": ("default", [(("solver", "threads"), 2)]),
    "solver.time_aggregation": ("default", [(("solver", "time_aggregation"), "on")]),
    "buildout.start": ("buildout", [(("buildout", "start"), "2026-10-01")]),
    "buildout.period_months": ("buildout", [(("buildout", "period_months"), 6)]),
    "buildout.periods": (
        "buildout",
        [(("buildout", "periods"), 6), (("buildout", "power_cap_mw"), 20), (("buildout", "skus"), {})],
    ),
    "buildout.demand.scale": ("buildout", [(("buildout", "demand", "scale"), {"chat": 0.5, "fast": 5.0})]),
    "buildout.demand.growth_per_month": ("buildout", [(("buildout", "demand", "growth_per_month"), 0.03)]),
    "buildout.demand.curves": ("buildout", [(("buildout", "demand", "curves"), ["default-demand.csv"] * 8)]),
    "buildout.power_cap_mw": ("buildout", [(("buildout", "power_cap_mw"), 30)]),
    "buildout.capex_budget_usd": ("buildout", [(("buildout", "capex_budget_usd"), 1.6e8)]),
    "buildout.budget_usd_per_hour": ("buildout", [(("buildout", "budget_usd_per_hour"), 50000.0)]),
    "buildout.total_capex_budget_usd": ("buildout", [(("buildout", "total_capex_budget_usd"), 7e8)]),
    "buildout.discount_rate": ("buildout", [(("buildout", "discount_rate"), 0.08)]),
    "buildout.economic_life_years": ("buildout", [(("buildout", "economic_life_years"), 5)]),
    "buildout.pricing": ("buildout", [(("buildout", "pricing"), "hourly")]),
    "buildout.skus.available_from": ("buildout", [(("buildout", "skus", "b200-sxm", "available_from"), "2027Q1")]),
    "buildout.skus.available_until": ("buildout", [(("buildout", "skus", "b200-sxm", "available_until"), "2027Q4")]),
    "buildout.skus.pricing": ("buildout", [(("buildout", "skus", "b200-sxm", "pricing"), "hourly")]),
    "buildout.skus.capex_usd_per_gpu": ("buildout", [(("buildout", "skus", "b200-sxm", "capex_usd_per_gpu"), 30000.0)]),
    "buildout.skus.cost_per_gpu_hour": (
        "hourly-buildout",
        [(("buildout", "skus", "b200-sxm", "cost_per_gpu_hour"), 2.5)],
    ),
    "buildout.skus.fixed_opex_usd_per_gpu_year": (
        "buildout",
        [(("buildout", "skus", "b200-sxm", "fixed_opex_usd_per_gpu_year"), 5000.0)],
    ),
    "buildout.skus.economic_life_years": ("buildout", [(("buildout", "skus", "b200-sxm", "economic_life_years"), 6)]),
    "buildout.skus.resale_fraction": ("buildout", [(("buildout", "skus", "b200-sxm", "resale_fraction"), 0.3)]),
    "buildout.existing.sku": (
        "buildout",
        [
            (("buildout", "existing", 0, "sku"), "gb200-nvl72"),
            (("buildout", "existing", 0, "units"), 10),
            (("existing",), {"gb200-nvl72": 10}),
        ],
    ),
    "buildout.existing.units": (
        "buildout",
        [(("buildout", "existing", 0, "units"), 400), (("existing", "h200-sxm"), 400)],
    ),
    "buildout.existing.age_months": ("buildout", [(("buildout", "existing", 0, "age_months"), 30)]),
    "buildout.existing.capex_usd_per_gpu": ("buildout", [(("buildout", "existing", 0, "capex_usd_per_gpu"), 30000.0)]),
    "buildout.early_retirement": ("buildout", [(("buildout", "early_retirement"), False)]),
    "buildout.mode": ("buildout", [(("buildout", "mode"), "myopic")]),
    "buildout.end_of_horizon": ("buildout", [(("buildout", "end_of_horizon"), "purchase")]),
    "economics.discount_rate": ("sites", [(("economics", "discount_rate"), 0.12)]),
    "existing.units": ("sites", [(("existing", "h200-node", "units"), 20)]),
    "existing.site": ("sites", [(("existing", "h200-node", "site"), "hall-a")]),
    "existing.procurement": (
        "sites",
        [
            (("existing", "h200-node", "decommission_usd_per_unit"), None),
            (("existing", "h200-node", "may_retire"), False),
            (("existing", "h200-node", "procurement"), "reserved"),
        ],
    ),
    "existing.age_years": ("sites-buildout", [(("existing", "h200-node", "age_years"), 4.8)]),
    "existing.may_retire": (
        "sites",
        [
            (("existing", "h200-node", "decommission_usd_per_unit"), None),
            (("existing", "h200-node", "may_retire"), False),
        ],
    ),
    "existing.decommission_usd_per_unit": ("sites", [(("existing", "h200-node", "decommission_usd_per_unit"), 1e6)]),
    "sites.id": ("sites", [(("sites", 0, "id"), "hall-x")]),
    "sites.power_cap_mw": ("sites", [(("sites", 0, "power_cap_mw"), 12.0)]),
    "sites.pue": ("sites", [(("sites", 0, "pue"), 1.3)]),
    "sites.electricity_usd_per_kwh": ("sites", [(("sites", 0, "electricity_usd_per_kwh"), 0.09)]),
    "sites.rack_positions": ("sites", [(("sites", 0, "rack_positions"), 50)]),
    "sites.max_kw_per_rack": ("sites", [(("sites", 1, "max_kw_per_rack"), 25.0)]),
    "sites.liquid_cooling_mw": ("sites", [(("sites", 0, "liquid_cooling_mw"), 5.0)]),
    "skus.units_per_rack": ("sites", [(("skus", 0, "units_per_rack"), 2)]),
    "skus.cooling": ("sites", [(("skus", 0, "cooling"), "liquid")]),
    "skus.lead_time_months": ("sites-buildout", [(("skus", 1, "lead_time_months"), 3.0)]),
    "skus.procurement.kind": (
        "sites",
        [(("skus", 1, "procurement", 0), {"kind": "reserved", "usd_per_gpu_hour": 3.0, "term_months": 12})],
    ),
    "skus.procurement.capex_usd_per_gpu": ("sites", [(("skus", 0, "procurement", 0, "capex_usd_per_gpu"), 25000.0)]),
    "skus.procurement.life_years": ("sites", [(("skus", 0, "procurement", 0, "life_years"), 4.0)]),
    "skus.procurement.fixed_opex_usd_per_gpu_hour": (
        "sites",
        [(("skus", 0, "procurement", 0, "fixed_opex_usd_per_gpu_hour"), 0.3)],
    ),
    "skus.procurement.usd_per_gpu_hour": ("sites", [(("skus", 0, "procurement", 1, "usd_per_gpu_hour"), 2.5)]),
    "skus.procurement.term_months": ("sites-buildout", [(("skus", 0, "procurement", 1, "term_months"), 3.0)]),
    "skus.procurement.upfront": ("sites-buildout", [(("skus", 0, "procurement", 1, "upfront"), True)]),
    "skus.procurement.max_gpus": ("sites", [(("skus", 0, "procurement", 2, "max_gpus"), 800.0)]),
    "workloads.sites": ("sites", [(("workloads", "chat", "sites"), ["hall-a", "cloud"])]),
    "workloads.curve": ("curve", [(("workloads", "chat", "curve"), "CURVES")]),
    "workloads.model": ("curve", [(("workloads", "chat", "model"), "qwen3-32b")]),  # not in the file: refused
    "workloads.isl": ("curve", [(("workloads", "chat", "isl"), 8000)]),  # not in the file: refused
    "workloads.osl": ("curve", [(("workloads", "chat", "osl"), 500)]),
    "workloads.estimate": ("curve", [(("workloads", "chat", "estimate"), True)]),  # all measured: refused
    "workloads.throughput_band": ("curve", [(("workloads", "chat", "throughput_band"), "high")]),  # refused
    "workloads.model_config_file": ("curve", [(("workloads", "chat", "model_config"), "x.json")]),  # refused
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """A catalog copy with one price changed, and a load curve with one hour changed."""
    from planner.resources import models_dir

    tmp = tmp_path_factory.mktemp("effects")
    (tmp / "models").mkdir()
    for name in ("skus.yaml", "workloads.yaml"):
        text = (models_dir() / name).read_text()
        (tmp / "models" / name).write_text(text)
    skus = (tmp / "models" / "skus.yaml").read_text()
    (tmp / "models" / "skus.yaml").write_text(skus.replace("hyperscaler: {value: 1.41", "hyperscaler: {value: 1.55", 1))
    assert (tmp / "models" / "skus.yaml").read_text() != skus
    lines = (SCENARIOS / "default-demand.csv").read_text().splitlines()
    head = [i for i, line in enumerate(lines) if line and line[0].isdigit()][3]
    cells = lines[head].split(",")
    cells[1] = str(float(cells[1]) * 1.5)
    lines[head] = ",".join(cells)
    (tmp / "curve.csv").write_text("\n".join(lines) + "\n")
    points = (SCENARIOS / "curves" / "qwen3-235b-a22b.yaml").read_text()
    (tmp / "curves.yaml").write_text(
        points.replace("tokens_per_s_per_gpu: 1833.706", "tokens_per_s_per_gpu: 1900.0", 1)
    )
    assert (tmp / "curves.yaml").read_text() != points
    return {"CATALOG": str(tmp / "models"), "CURVE": str(tmp / "curve.csv"), "CURVES": str(tmp / "curves.yaml")}


def test_every_schema_field_has_a_case():
    assert schema_leaves() - LABELS == set(CASES), "add a row to CASES for each new scenario field"


@pytest.mark.parametrize("leaf", sorted(CASES))
def test_every_schema_field_moves_the_model_or_is_refused(leaf, files):
    base_name, changes = CASES[leaf]
    make, path = BASES[base_name]
    base = make()
    before = digest(model_inputs(scenario_file(copy.deepcopy(base), path)))
    data = copy.deepcopy(base)
    for where, value in changes:
        set_raw(data, where, files.get(value, value) if isinstance(value, str) else value)
    try:
        after = digest(model_inputs(scenario_file(data, path)))
    except ScenarioError:
        return  # refused, with a message (the CLI maps it to exit 2)
    assert after != before, f"{leaf}: {changes} changes nothing any command consumes"


# ---- the refusals ----------------------------------------------------------------------------


def test_pue_under_the_all_in_basis_is_refused_everywhere(runner, tmp_path):
    r = runner.invoke(app, ["plan", "--set", "economics.pue=1.2"])
    assert r.exit_code == 2 and "economics.pue has no effect" in r.stderr and "power_basis: it" in r.stderr
    r = runner.invoke(app, ["sweep", "-p", "economics.pue=1.1:1.5", "--samples", "3", "-w", "1"])
    assert r.exit_code == 2 and "economics.pue cannot be swept in this scenario" in r.stderr
    data = raw("default.yaml")
    data["economics"]["pue"] = 1.3
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "default-demand.csv").write_text((SCENARIOS / "default-demand.csv").read_text())
    r = runner.invoke(app, ["plan", str(tmp_path / "s.yaml")])
    assert r.exit_code == 2 and "economics.pue has no effect" in r.stderr
    # with the IT basis it is the facility's PUE: the plan's power moves with it
    mw = []
    for pue in (1.2, 1.4):
        args = ["--set", "economics.power_basis=it", "--set", f"economics.pue={pue}", "--power-cap-mw", "30"]
        r = runner.invoke(app, ["plan", "--no-explain", "--json", *args])
        assert r.exit_code in (0, 3), r.output
        doc = json.loads(r.stdout)
        mw.append(doc["power_mw"])
    assert mw[1] > mw[0]


@pytest.mark.parametrize(
    "override, field",
    [
        ("economics.electricity_usd_per_kwh=0.1", "economics.electricity_usd_per_kwh"),
        ("skus.h200-sxm.idle_power_kw_per_gpu=0.3", "skus.h200-sxm.idle_power_kw_per_gpu"),
    ],
)
def test_overrides_without_effect_are_refused(runner, override, field):
    r = runner.invoke(app, ["plan", "--set", override])
    assert r.exit_code == 2 and f"{field} has no effect" in r.stderr, r.output
    assert "Traceback" not in r.output


def test_inert_fields_in_a_file_are_noted(tmp_path):
    """A file may state its electricity price with nothing billed: accepted, and the plan says so."""
    from planner.pipeline import scenario_problem

    data = raw("default.yaml")
    data["economics"]["electricity_usd_per_kwh"] = 0.08
    sf = scenario_file(data, SCENARIOS / "default.yaml")
    notes = scenario_problem(sf).notes
    assert any("economics.electricity_usd_per_kwh has no effect" in n for n in notes)


def test_shipped_scenarios_have_no_inert_inputs():
    from planner.scenario.load import load_scenario

    for path in sorted(SCENARIOS.glob("*.yaml")):
        assert load_scenario(path).notes == (), path


@pytest.mark.parametrize(
    "base, changes, field",
    [
        (
            "buildout",
            [(("buildout", "skus", "b200-sxm", "cost_per_gpu_hour"), 2.5)],
            "buildout.skus.b200-sxm.cost_per_gpu_hour",
        ),
        (
            "hourly-buildout",
            [(("buildout", "skus", "b200-sxm", "fixed_opex_usd_per_gpu_year"), 5000.0)],
            "buildout.skus.b200-sxm.fixed_opex_usd_per_gpu_year",
        ),
        (
            "hourly-buildout",
            [(("buildout", "skus", "b200-sxm", "resale_fraction"), 0.5)],
            "buildout.skus.b200-sxm.resale_fraction",
        ),
        (
            "buildout",
            [(("buildout", "skus", "b200-sxm", "resale_fraction"), 0.5), (("buildout", "early_retirement"), False)],
            "buildout.skus.b200-sxm.resale_fraction",
        ),
        (
            "default",
            [
                (("skus",), [{"id": s, "cost_per_gpu_hour": 2.0} for s in ("h200-sxm", "gb300-nvl72")]),
                (("economics", "pricing_tier"), "neocloud"),
            ],
            "economics.pricing_tier",
        ),
    ],
)
def test_inert_fields_in_a_file_are_refused(base, changes, field):
    make, path = BASES[base]
    data = make()
    for where, value in changes:
        set_raw(data, where, value)
    with pytest.raises(ScenarioError) as err:
        scenario_file(data, path)
    assert f"{field} has no effect" in "\n".join(err.value.problems)
