"""`planner throughput accuracy --protocol user`: cases, step-frontier truth, baseline, bootstrap, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from planner.cli.main import app
from planner.cli.output import json_text
from planner.throughput.curves import CurvePoint
from planner.throughput.user_accuracy import (
    Case,
    baseline_band,
    step_frontier,
    user_accuracy,
    user_cases,
)

README = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())


def says(text: str) -> None:
    assert " ".join(text.split()) in README, f"README does not say: {text}"


def pt(model: str, sku: str, x: float, y: float, ttft_ms: float = 500.0) -> CurvePoint:
    return CurvePoint(
        sku=sku,
        gpus=8,
        model=model,
        isl=1024,
        osl=1024,
        precision="fp8",
        framework="vllm agg",
        interactivity=x,
        tokens_per_s_per_gpu=y,
        ttft_ms=ttft_ms,
    )


# Three models on SKUs a and b, B/A = 2, 3 and 5 at every interactivity; m1 also on c.
# On a: 1000 tokens/s per GPU at 40 tok/s/user, 400 at 80 (a step frontier of 1000 at 20 and 35,
# 400 at 50 and 75). m3's b also has an overloaded point (TTFT 20 s) at 90 tok/s/user that would
# otherwise raise its step frontier at 50 and 75.
RATIO = {"m1": 2.0, "m2": 3.0, "m3": 5.0}
REF = [
    p
    for m, r in RATIO.items()
    for p in (pt(m, "a", 40, 1000), pt(m, "a", 80, 400), pt(m, "b", 40, 1000 * r), pt(m, "b", 80, 400 * r))
]
REF += [pt("m3", "b", 90, 1e6, ttft_ms=20_000.0), pt("m1", "c", 30, 700)]


def test_step_frontier_is_the_best_point_at_or_above_the_target_never_interpolated():
    pts = [pt("m", "a", 10, 1000), pt("m", "a", 30, 600), pt("m", "a", 60, 200)]
    assert step_frontier(pts, 20) == 600  # not between 1000 and 600
    assert step_frontier(pts, 30) == 600
    assert step_frontier(pts, 35) == 200
    assert step_frontier(pts, 75) is None  # nothing reaches 75: no truth, no anchor


def test_cases_every_ordered_pair_with_the_truth_on_b_overloaded_points_dropped():
    cases = user_cases(REF)
    # m1: a<->b at 4 x each (8), a->c and b->c at 20 only (c reaches 30), c->a and c->b at 4 x each (8): 18
    # m2, m3: a<->b at 4 x each: 8 each
    assert len(cases) == 18 + 8 + 8
    m3 = {(c.a, c.b, c.x): c.true for c in cases if c.model == "m3"}
    assert m3[("a", "b", 75)] == 400 * 5.0  # not the overloaded 1e6 at 90
    assert m3[("a", "b", 20)] == 1000 * 5.0
    c_to_a = [c for c in cases if c.model == "m1" and c.a == "c" and c.b == "a"]
    assert [(c.x, c.anchor) for c in c_to_a] == [(20, 700), (35, None), (50, None), (75, None)]  # c reaches 30 only


def test_baseline_is_the_median_ratio_of_the_other_models_with_their_interquartile_band():
    cases = user_cases(REF)
    q = next(c for c in cases if c.model == "m1" and (c.a, c.b, c.x) == ("a", "b", 50))
    est, lo, hi = baseline_band(cases, q)
    # other models: m2 (x3) and m3 (x5), four interactivities each -> median 4, quartiles 3 and 5
    assert est == pytest.approx(400 * 4.0)
    assert (lo, hi) == (pytest.approx(400 * 3.0), pytest.approx(400 * 5.0))
    # no other model measured a -> c: refused
    ac = next(c for c in cases if c.model == "m1" and (c.a, c.b) == ("a", "c"))
    assert baseline_band(cases, ac) is None


def exact(model, isl, osl, pts, to, xs):
    """A stub estimator: the truth x 1.1 with a +-20 % band, refusing every case of m2."""
    if model == "m2":
        return {}
    by = {p.sku: p for p in pts}
    assert set(by) <= {"a", "b", "c"}
    truth = {(c.b, c.x): c.true for c in user_cases(REF) if c.model == model and c.isl == isl and c.a == pts[0].sku}
    return {k: (1.1 * v, 0.8 * v, 1.2 * v) for k, v in truth.items() if k[0] in to and k[1] in xs}


def report(seed: int = 7):
    return user_accuracy(
        REF, exact, {"a": 1.0, "b": 2.0, "c": 1.5}, rng=np.random.default_rng(seed), seed=seed, draws=200
    )


def test_refusals_are_cases_and_count_as_100_pct_in_their_own_figure():
    rep = report()
    est = rep["estimator"]
    assert est["cases"] == rep["cases"] == rep["baseline"]["cases"] == 34
    assert (est["answered"], est["refused"]) == (34 - 8, 8)  # m2's 8 cases refused
    assert est["errors"]["median_ape"]["value"] == pytest.approx(0.1)  # every answered case errs by 10 %
    # with refusals: 26 cases at 0.1 and 8 at 1.0 -> p90 is 1.0, the median 0.1
    ref = est["errors_with_refusals_as_100pct"]
    assert ref["median_ape"]["value"] == pytest.approx(0.1)
    assert ref["p90_ape"]["value"] == pytest.approx(1.0)
    assert est["band_coverage"] == 1.0
    assert est["median_band_half_width"] == pytest.approx(0.2 / 1.1)
    # baseline: m1's a->c and b->c (no other model there) and c->a, c->b refused; A not reaching x too
    assert rep["baseline"]["refused"] == 2 + 8
    by_pair = {(p["a"], p["b"]): p for p in rep["by_pair"]}
    assert by_pair[("a", "b")]["models"] == 3 and by_pair[("a", "c")]["models"] == 1


def test_bootstrap_is_deterministic_by_seed():
    assert json_text(report(7)) == json_text(report(7))
    a = report(7)["estimator"]["errors_with_refusals_as_100pct"]["p75_ape"]["ci"]
    assert a is not None and a[0] <= a[1]
    assert report(7)["seed"] == 7


def test_decisions_pick_by_the_estimates_against_the_truly_cheapest():
    d = report()["estimator"]["decisions"]
    # two or more targets only for m1: A = a or b at 20 (targets: the other and c), A = c at each x (a, b): 6.
    # (m1, A=a, 20): true $/token a 1/1000 = b 2/2000 < c 1.5/700; the estimates (truth x 1.1) pick b: within
    assert d == {"decisions": 2 + 4, "within_10pct": 6, "no_pick": 0}


def test_user_protocol_on_the_shipped_reference(runner):
    r = runner.invoke(app, ["throughput", "accuracy", "--protocol", "user", "--json", "--draws", "200"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["protocol"] == "user" and d["overloaded_ttft_ms"] == 10_000
    for name in ("estimator", "baseline"):
        m = d[name]
        assert m["cases"] == d["cases"] > 0  # both scored on the same cases
        assert m["answered"] + m["refused"] == d["cases"]
        assert set(m["errors"]) == {"median_ape", "p75_ape", "p90_ape"}
        assert all(len(f["ci"]) == 2 for f in m["errors"].values())
    assert all(p["models"] >= 1 for p in d["by_pair"])
    assert sum(p["cases"] for p in d["by_pair"]) == d["cases"]


def test_unknown_protocol_is_a_usage_error(runner):
    r = runner.invoke(app, ["throughput", "accuracy", "--protocol", "nope"])
    assert r.exit_code == 2
    assert "give loo or user" in r.output


def test_case_is_frozen():
    c = Case(model="m", isl=1, osl=1, a="a", b="b", x=20, true=1.0, anchor=None)
    with pytest.raises(AttributeError):
        c.true = 2.0  # type: ignore[misc]


def test_readme_states_the_user_protocol_figures(runner):
    """The README's figures are what `--protocol user --json` prints today (seed 0, 2000 draws)."""
    r = runner.invoke(app, ["throughput", "accuracy", "--protocol", "user", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    e, b = d["estimator"], d["baseline"]

    def pct(v: float) -> str:
        return f"{v * 100:.0f} %"

    def fig(f) -> str:
        return f"{pct(f['value'])} [{pct(f['ci'][0])}, {pct(f['ci'][1])}]"

    ee, be = e["errors"], b["errors"]
    says(
        f"over {d['cases']} cases from {len(d['models'])} models: the estimator answers {e['answered']} "
        f"({e['refused']} refused) with a median error of {fig(ee['median_ape'])}, p75 {fig(ee['p75_ape'])}, "
        f"p90 {fig(ee['p90_ape'])}; its band holds the truth in {pct(e['band_coverage'])} at a median "
        f"half-width of {pct(e['median_band_half_width'])}."
    )
    says(
        f"The baseline answers {b['answered']} ({b['refused']} refused: no other model measured the pair) with a "
        f"median of {fig(be['median_ape'])}, p90 {fig(be['p90_ape'])}; its band holds {pct(b['band_coverage'])} at "
        f"a median half-width of {pct(b['median_band_half_width'])}."
    )
    both = "errors_on_cases_both_answered"
    refused = "errors_with_refusals_as_100pct"
    says(
        f"On the cases both answered the estimator errs by {pct(e[both]['median_ape']['value'])} median against the "
        f"baseline's {pct(b[both]['median_ape']['value'])}; with refusals counted as 100 %, "
        f"{pct(e[refused]['median_ape']['value'])} against {pct(b[refused]['median_ape']['value'])}."
    )
    says(
        f"cheapest in {e['decisions']['within_10pct']} of {e['decisions']['decisions']} decisions by the estimator, "
        f"{b['decisions']['within_10pct']} by the baseline."
    )
