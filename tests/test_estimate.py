"""Throughput on SKUs without measurements (issue 14, items 3, 5, 6): the roofline against a hand
computation, every estimated number recomputed from its parts, refusals, the held-out report, and
plans that label estimated numbers and re-plan at the band's edges."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from planner.catalog.load import shipped_catalog
from planner.catalog.throughput import throughput_at
from planner.cli.main import app
from planner.optimize.problem import build_problem
from planner.pipeline import run_plan, scenario_curve
from planner.scenario.load import load_scenario
from planner.throughput.curves import read_curve_file, series_for
from planner.throughput.estimate import (
    calibration,
    corrections,
    estimate,
    reference_questions,
)
from planner.throughput.modelcfg import ModelConfig
from planner.throughput.reference import reference_configs, reference_points
from planner.throughput.roofline import Spec, roofline, spec_of

ROOT = Path(__file__).resolve().parents[1]
CURVES = ROOT / "scenarios" / "curves" / "qwen3-235b-a22b.yaml"
CAT = shipped_catalog()


def dense(params: float = 1e9, kv: float = 1e4) -> ModelConfig:
    return ModelConfig(
        architecture="x", hidden_size=1024, layers=1, heads=8, kv_heads=8, head_dim=128, intermediate_size=4096,
        experts=0, experts_per_token=0, shared_experts=0, expert_intermediate_size=0, dense_layers=1,
        attention="gqa", kv_lora_rank=None, q_lora_rank=None, rope_head_dim=0, nope_head_dim=128, v_head_dim=128,
        sliding_window=None, vocab_size=1000, tied_embeddings=False, quantization="none",
        total_params=params, active_params=params, kv_elements_per_token=kv,
    )  # fmt: skip


ONE = Spec("one", "v", "f", 80.0, 2.0, (("bf16", 1000.0), ("fp8", 2000.0)), 1, 900.0)


def test_memory_bound_roofline_matches_a_hand_computation():
    # a one-GPU domain: deployments of 1, 2 and 4 GPUs. 1e9 params at fp8 (1 GB), KV 1e4 elements x 1 byte
    # per token, context 1000 + 100/2: a step of 1/x s reads 1 GB + b x 10.5 MB over g x 2 TB/s, plus (g > 1)
    # two all-reduces of 2 x b x 1024 x 2 bytes at 900 GB/s and 8 us; FLOPs are far below the peak.
    cfg, x, isl, osl = dense(), 50.0, 1000, 100
    kv = (isl + osl / 2) * 1e4
    prefill = isl * 2 * 1e9 / (2000e12 * 0.5)
    bounds = []
    for g in (1, 2, 4):
        comm_fixed, comm_per_b = (0.0, 0.0) if g == 1 else (2 * 8e-6, 2 * 2 * 1024 * 2 / 900e9)
        b = (1 / x - comm_fixed - 1e9 / (g * 2e12)) / (kv / (g * 2e12) + comm_per_b)
        b = min(b, (0.9 * g * 80e9 - 1e9) / kv)  # weights + KV within 90 % of HBM
        decode = b * x / g
        bounds.append(1 / (1 / decode + prefill / osl) * (isl + osl) / osl)
    want = max(bounds)
    got = roofline(cfg, ONE, "fp8", isl, osl, x)
    assert got == pytest.approx(want, rel=0.03)  # the batch is searched on a geometric grid
    assert got <= want * (1 + 1e-9)  # never above the bound


def test_a_recurrent_state_takes_hbm_like_kv_cache_and_routed_experts_are_read_as_touched():
    # a recurrent state of 10.5 MB per request costs what 1000 + 100/2 tokens of 1e4 one-byte KV elements do
    x = 50.0
    stateful = dataclasses.replace(dense(kv=0.0), state_bytes_per_request=1050 * 1e4)
    assert roofline(stateful, ONE, "fp8", 1000, 100, x) == pytest.approx(
        roofline(dense(kv=1e4), ONE, "fp8", 1000, 100, x)
    )
    assert roofline(stateful, ONE, "fp8", 1000, 100, x) < roofline(dense(kv=0.0), ONE, "fp8", 1000, 100, x)
    # a MoE whose routed experts are most of its weights reads less per step than a dense model of that size
    moe = dataclasses.replace(dense(), experts=64, experts_per_token=2, expert_params=0.9e9, active_params=0.13e9)
    assert roofline(moe, ONE, "fp8", 1000, 100, x) > roofline(dense(), ONE, "fp8", 1000, 100, x)


def test_roofline_falls_with_interactivity_where_hbm_does_not_cap_the_batch_and_is_zero_out_of_reach():
    cfg = reference_configs()["qwen3-235b-a22b"]
    h200 = spec_of(CAT.skus["h200-sxm"])
    ys = [roofline(cfg, h200, "fp8", 4000, 1000, x) for x in (50, 75, 100, 150)]  # above the HBM-capped range
    assert all(a >= b for a, b in zip(ys, ys[1:], strict=False)) and ys[-1] > 0
    assert roofline(cfg, h200, "fp8", 4000, 1000, 1e5) == 0.0
    # weights that fit no deployment: 1e13 parameters at BF16 on one 80 GB GPU
    assert roofline(dense(1e13), ONE, "bf16", 100, 100, 10) == 0.0


def test_faster_memory_gives_more_throughput_when_memory_bound():
    cfg = reference_configs()["llama-3.1-8b"]
    h100, h200 = (spec_of(CAT.skus[s]) for s in ("h100-sxm", "h200-sxm"))
    assert roofline(cfg, h200, "fp8", 1000, 1000, 100) > roofline(cfg, h100, "fp8", 1000, 1000, 100)


def test_every_estimated_number_is_recomputed_from_its_parts():
    cf = read_curve_file(CURVES)
    cfg = reference_configs()["qwen3-235b-a22b"]
    est = estimate(cf.points, cfg, model="qwen3-235b-a22b", isl=4000, osl=1000,
                   to=["h200-sxm", "b200-sxm", "gb300-nvl72"], interactivity=[20, 35, 50], catalog=CAT)  # fmt: skip
    by = {c.sku: c for c in est.curves}
    measured = series_for(cf.points, model="qwen3-235b-a22b", isl=4000, osl=1000)
    for x in (20, 35, 50):
        p = by["h200-sxm"].at(x)
        assert p.tier == "measured" and p.low == p.high == p.tokens_per_s_per_gpu
        assert (
            p.tokens_per_s_per_gpu == throughput_at(measured["h200-sxm"], x, sku="", workload="").tokens_per_s_per_gpu
        )
    specs = {s: spec_of(CAT.skus[s]) for s in ("h200-sxm", "b200-sxm", "gb300-nvl72")}
    for sku, tier in (("b200-sxm", "transfer"), ("gb300-nvl72", "roofline")):
        assert by[sku].tier == tier
        for x in (20, 35, 50):
            p = by[sku].at(x)
            anchor = throughput_at(measured["h200-sxm"], x, sku="", workload="").tokens_per_s_per_gpu
            ratio = roofline(cfg, specs[sku], "fp8", 4000, 1000, x) / roofline(
                cfg, specs["h200-sxm"], "fp8", 4000, 1000, x
            )
            corr, _ = corrections().get((specs["h200-sxm"].generation, specs[sku].generation), (0.0, 0))
            assert p.tokens_per_s_per_gpu == pytest.approx(anchor * ratio * math.exp(corr), rel=1e-12)
            lo, hi, _ = calibration()[tier]
            assert (p.low, p.high) == pytest.approx(
                (p.tokens_per_s_per_gpu * math.exp(lo), p.tokens_per_s_per_gpu * math.exp(hi))
            )
            assert p.low < p.tokens_per_s_per_gpu < p.high and p.tier == tier and tier in p.basis
    assert any("not modelled" in n for n in est.notes)  # NVL72 flagged
    (framework,) = [n for n in est.notes if "estimated for the serving software measured on the anchor" in n]
    assert framework.startswith("b200-sxm, gb300-nvl72:")  # the estimated SKUs, not the measured one
    only = estimate(cf.points, cfg, model="qwen3-235b-a22b", isl=4000, osl=1000, to=["h200-sxm"],
                    interactivity=[35], catalog=CAT)  # fmt: skip
    assert not any("serving software" in n for n in only.notes)


def test_refusals_cross_vendor_extrapolation_and_unknown_skus():
    cf = read_curve_file(CURVES)
    cfg = reference_configs()["qwen3-235b-a22b"]
    est = estimate(cf.points, cfg, model="qwen3-235b-a22b", isl=4000, osl=1000,
                   to=["mi355x", "b200-sxm"], interactivity=[35, 500], catalog=CAT)  # fmt: skip
    by = {c.sku: c for c in est.curves}
    assert by["mi355x"].tier == "refused" and not by["mi355x"].points
    assert any("cross-vendor" in n for n in est.notes)
    assert [p.interactivity for p in by["b200-sxm"].points] == [35]  # 500 is beyond every measured point
    assert any("500" in n and "never extrapolated" in n for n in est.notes)
    with pytest.raises(Exception, match="unknown SKU"):
        estimate(
            cf.points, cfg, model="qwen3-235b-a22b", isl=4000, osl=1000, to=["nope"], interactivity=[35], catalog=CAT
        )


@pytest.mark.parametrize(
    ("label", "assumed", "weight_only"),
    # 4 bits: FP4 bytes at the BF16 peak; bits not a known precision's, none known on the anchor: BF16
    [("int4", "fp4", True), ("mxfp6", "bf16", False)],
)
def test_an_unknown_precision_is_estimated_flagged_and_widened_never_refused(label, assumed, weight_only):
    cf = read_curve_file(CURVES)
    cfg = reference_configs()["qwen3-235b-a22b"]
    relabelled = [p.model_copy(update={"precision": label}) for p in cf.points]
    args = dict(model="qwen3-235b-a22b", isl=4000, osl=1000, to=["b200-sxm", "gb300-nvl72"], interactivity=[20, 35],
                catalog=CAT)  # fmt: skip
    fp8, unknown = estimate(cf.points, cfg, **args), estimate(relabelled, cfg, **args)
    assert not any("refused" in n for n in unknown.notes)
    measured = series_for(cf.points, model="qwen3-235b-a22b", isl=4000, osl=1000)["h200-sxm"]
    h200, specs = spec_of(CAT.skus["h200-sxm"]), {s: spec_of(CAT.skus[s]) for s in ("b200-sxm", "gb300-nvl72")}
    for sku in ("b200-sxm", "gb300-nvl72"):
        (flag,) = [n for n in unknown.notes if n.startswith(f"{sku}: estimated from h200-sxm's {label} points")]
        assert (f"({assumed} bytes) computed at the BF16 peak" if weight_only else f"at {assumed}") in flag
        assert "widened x 1.5" in flag
        u, f = {c.sku: c for c in unknown.curves}[sku], {c.sku: c for c in fp8.curves}[sku]
        assert u.tier == f.tier and [p.interactivity for p in u.points] == [20, 35]
        for x in (20, 35):
            pu, pf = u.at(x), f.at(x)
            # the same anchor and correction as at fp8, the roofline ratio at the assumed precision
            anchor = throughput_at(measured, x, sku="", workload="").tokens_per_s_per_gpu
            sa, sb = h200, specs[sku]
            if weight_only:  # no FP4 or FP8 peak: the roofline computes at BF16
                sa, sb = (dataclasses.replace(s, tflops=tuple(t for t in s.tflops if t[0] == "bf16")) for s in (sa, sb))
            ratio = roofline(cfg, sb, assumed, 4000, 1000, x) / roofline(cfg, sa, assumed, 4000, 1000, x)
            corr, _ = corrections().get((h200.generation, specs[sku].generation), (0.0, 0))
            assert pu.tokens_per_s_per_gpu == pytest.approx(anchor * ratio * math.exp(corr), rel=1e-12)
            # the band: the tier's log quantiles x 1.5, wider than the same curve at fp8 gets
            lo, hi, _ = calibration()[u.tier]
            assert math.log(pu.low / pu.tokens_per_s_per_gpu) == pytest.approx(lo * 1.5)
            assert math.log(pu.high / pu.tokens_per_s_per_gpu) == pytest.approx(hi * 1.5)
            assert math.log(pu.high / pu.low) > math.log(pf.high / pf.low) * 1.4
            assert label in pu.basis and "x 1.5" in pu.basis


def test_an_anchor_point_of_a_known_precision_is_preferred_and_sets_an_unknown_labels_cost():
    from planner.throughput.estimate import assumed_precision

    def read(label, known=()):
        r = assumed_precision(label, known)
        return r.precision, r.weight_only, r.assumption is None

    assert read("fp8") == ("fp8", False, True) and read("NVFP4") == ("fp4", False, True)
    assert read("W4A16") == ("fp4", True, False) and read("int8") == ("fp8", True, False)
    assert read("mxfp6", ["fp8", "bf16"]) == ("fp8", False, False)  # the anchor's most measured known precision
    assert read("awq") == ("bf16", False, False)
    # the H200 (the B200's nearest in bandwidth, its anchor at fp8) relabelled mxfp6, the H100 left at fp8: every
    # estimate starts from the H100's known points, as if the H200 had none
    cf = read_curve_file(CURVES)
    cfg = reference_configs()["qwen3-235b-a22b"]
    mixed = [p.model_copy(update={"precision": "mxfp6"}) if p.sku == "h200-sxm" else p for p in cf.points]
    h100 = [p for p in cf.points if p.sku == "h100-sxm"]
    args = dict(model="qwen3-235b-a22b", isl=4000, osl=1000, to=["b200-sxm"], interactivity=[20, 35], catalog=CAT)
    got, want = estimate(mixed, cfg, **args), estimate(h100, cfg, **args)
    assert [c.points for c in got.curves] == [c.points for c in want.curves] and got.curves[0].points
    assert all(p.basis.startswith("transfer: h100-sxm") for p in got.curves[0].points)
    assert not any("mxfp6" in n for n in got.notes)


def test_held_out_model_leaves_no_trace_in_its_own_prediction():
    models = {q.group.model for q in reference_questions()}
    assert corrections(frozenset(models)) == {}
    for m in models:
        assert all(n <= len(models) - 1 for _, n in corrections(frozenset({m})).values())
    # hiding minimax-m2.5 on b200 and giving it on h200: the estimate uses no minimax point on b200
    pts = [p for p in reference_points() if p.model == "minimax-m2.5" and p.sku == "h200-sxm"]
    cfg = reference_configs()["minimax-m2.5"]
    a = estimate(pts, cfg, model="minimax-m2.5", isl=1024, osl=1024, to=["b200-sxm"], interactivity=[50], catalog=CAT,
                 exclude_model="minimax-m2.5")  # fmt: skip
    assert a.curves[0].points and a.curves[0].tier in ("transfer", "roofline")


def test_accuracy_report_beats_the_median_ratio_and_accounts_for_every_question(runner):
    r = runner.invoke(app, ["throughput", "accuracy", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["questions"] + rep["refused"] == len(reference_questions())
    assert sum(v["n"] for v in rep["by_tier"].values()) == rep["questions"]
    assert sum(p["n"] for p in rep["by_pair"]) == rep["questions"]
    assert rep["overall"]["median_ape"] < rep["baseline_median_ratio"]["median_ape"]
    assert 0 <= rep["overall"]["band_coverage"] <= 1 and rep["regret"]["decisions"] > 0
    assert set(rep["interactivity"]) == {20, 35, 50, 75}


def test_same_backend_questions_compare_one_backend_on_both_skus():
    """Each same-backend question's anchor and truth are that backend's own frontiers on A and B."""
    from planner.catalog.throughput import throughput_at
    from planner.throughput.estimate import backend_of, reference_groups

    assert [backend_of(f) for f in ("trtllm-1.2.0rc6.post2 disagg", "vllm", "SGLang-0.5.9", "vllm-0.15.1")] == [
        "trtllm", "vllm", "sglang", "vllm",
    ]  # fmt: skip
    qs = reference_questions(by_backend=True)
    assert qs and {q.backend for q in qs} == {"trtllm", "vllm", "sglang"}
    groups = reference_groups()
    for q in qs[::7]:
        for sku, y in ((q.a, q.anchor), (q.b, q.true)):
            own = [s for s in groups[q.group][sku] if backend_of(s.framework) == q.backend]
            assert throughput_at(own, q.x, sku=sku, workload="").tokens_per_s_per_gpu == pytest.approx(y)
    # every pair of the mixed frontier whose two frontiers come from one backend is among them
    assert all(q.backend is None for q in reference_questions())
    rep = accuracy_report()
    same = rep["same_backend"]
    assert same["n"] + sum(q.pred is None for q in qs) == len(qs) and same["regret"]["decisions"] > 0


def accuracy_report():
    from planner.catalog.load import shipped_catalog
    from planner.throughput.accuracy import accuracy

    return accuracy({k: s.pricing.hyperscaler.value for k, s in shipped_catalog().skus.items()})


def test_estimate_cli_json_from_another_directory(tmp_path):
    cmd = [sys.executable, "-m", "planner.cli.main", "throughput", "estimate", "--curves", str(CURVES),
           "--workload", "qwen3-235b-a22b 4000/1000", "--to", "b200-sxm,gb300-nvl72", "--interactivity", "20,35",
           "--json"]  # fmt: skip
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    assert {c["sku"]: c["tier"] for c in doc["curves"]} == {"b200-sxm": "transfer", "gb300-nvl72": "roofline"}
    for c in doc["curves"]:
        for p in c["points"]:
            assert set(p) >= {"interactivity", "tokens_per_s_per_gpu", "low", "high", "basis"}


def test_estimate_cli_refuses_an_unknown_model_without_config(runner, tmp_path):
    path = tmp_path / "c.yaml"
    pts = [p.model_copy(update={"model": "mine"}) for p in read_curve_file(CURVES).points]
    from planner.throughput.curves import curve_file_text

    path.write_text(curve_file_text(pts))
    r = runner.invoke(
        app, ["throughput", "estimate", "--curves", str(path), "--workload", "mine 4000/1000", "--to", "b200-sxm"]
    )
    assert r.exit_code == 2 and "config.json" in r.output


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--interactivity", "abc"], "give numbers separated by commas"),
        (["--interactivity", "-5"], "positive, finite targets"),
        (["--interactivity", "nan"], "positive, finite targets"),
        (["--interactivity", "1e9"], "up to 1e6"),
        (["--interactivity", "35,20,35"], "a target is given twice"),
        (["--to", "b200-sxm,gb300-nvl72,b200-sxm"], "a SKU is named twice"),
        (["--to", " , "], "name at least one SKU"),
    ],
)
def test_estimate_cli_refuses_bad_targets_and_skus(runner, flags, says):
    args = ["throughput", "estimate", "--curves", str(CURVES), "--workload", "qwen3-235b-a22b 4000/1000"]
    r = runner.invoke(app, [*args, *(flags if "--to" in flags else ["--to", "b200-sxm", *flags])])
    assert r.exit_code == 2 and says in r.output and "Traceback" not in r.output


def test_plan_labels_estimates_and_replans_at_the_band_edges():
    plan = run_plan(ROOT / "scenarios" / "qwen3-estimate.yaml")
    band = plan.throughput_band
    assert band["planned_on"] == "mid" and set(band["estimated_skus"]) == {"b200-sxm", "b300-sxm", "gb300-nvl72"}
    assert set(band["edges"]) == {"low", "mid", "high"} and band["edges"]["mid"]["same_fleet"]
    # the high edge plans on each estimate's high figure
    sf = load_scenario(ROOT / "scenarios" / "qwen3-estimate.yaml", {"workloads.chat.throughput_band": "high"})
    hi = build_problem(sf, scenario_curve(sf))
    mid = build_problem(load_scenario(ROOT / "scenarios" / "qwen3-estimate.yaml"), scenario_curve(sf))
    for s_hi, s_mid in zip(hi.skus, mid.skus, strict=True):
        if s_mid.throughput_basis["chat"].startswith("estimated"):
            assert s_hi.throughput["chat"] > s_mid.throughput["chat"]
        else:
            assert s_hi.throughput["chat"] == s_mid.throughput["chat"]
    high_plan = run_plan(sf)
    assert high_plan.cost_per_million_tokens == pytest.approx(band["edges"]["high"]["cost_per_million_tokens"])


def test_throughput_band_flag_and_fields_refuse_when_they_would_change_nothing(runner, tmp_path):
    r = runner.invoke(app, ["plan", str(ROOT / "scenarios" / "qwen3-curve.yaml"), "--throughput-band", "high"])
    assert r.exit_code == 2 and "estimate: true" in r.output
    r = runner.invoke(app, ["plan", str(ROOT / "scenarios" / "qwen3-estimate.yaml"), "--throughput-band", "top"])
    assert r.exit_code == 2 and "low, mid or high" in r.output
    for extra in ("throughput_band=high", "model_config=x.json"):
        r = runner.invoke(
            app, ["plan", str(ROOT / "scenarios" / "qwen3-curve.yaml"), "--set", f"workloads.chat.{extra}"]
        )
        assert r.exit_code == 2 and "estimate: true" in r.output, r.output
    r = runner.invoke(app, ["plan", "--set", "workloads.chat.estimate=true"])
    assert r.exit_code == 2 and "curve workload" in r.output


def test_plan_json_carries_the_band_section(runner):
    r = runner.invoke(app, ["plan", str(ROOT / "scenarios" / "qwen3-estimate.yaml"), "--json", "--no-explain"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["throughput_band"]["estimated"] and all(
        n["basis"].startswith("estimated") for n in doc["throughput_band"]["estimated"]
    )
    fleet_basis = {f["sku"]: f for f in doc["fleet"]}
    assert set(fleet_basis) >= set(doc["throughput_band"]["estimated_skus"])


@pytest.mark.parametrize(
    ("label", "want"),
    [
        ("NVFP4", "fp4"),
        ("mxfp4", "fp4"),
        ("FP8_block", "fp8"),
        ("e4m3", "fp8"),
        ("bfloat16", "bf16"),
        ("int4", None),
        ("int8", None),
    ],
)
def test_precision_labels_map_to_the_roofline_precisions_or_are_unknown(label, want):
    from planner.throughput.roofline import precision_of

    assert precision_of(label) == want
