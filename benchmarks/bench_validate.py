"""Benchmark: a peak hour of about a million requests against a few thousand GPUs, request by request.

Pool: 290 HGX H200 nodes (2,320 GPUs) serving DeepSeek-R1 8k/1k chat at 35 tok/s/user
(1,119 tokens/s per GPU: 28 slots per node); ~278 requests/s for an hour (rho ~0.99), fixed
9,216-token requests. The SimPy simulator (planner.validate.window.simulate_window) runs it
twice: without failures and without a start state, so that it must agree exactly with the
baseline measured in the same run, a FIFO M/G/c recursion on the same arrivals (heapq of slot
free times: start = max(arrival, earliest free slot)); and with the catalog's failures
(MTBF 50,000 GPU-hours, 4 h repairs) and the near-steady start state.

Then the event streams (planner.validate.events) against the simulator as it was before them
(``BASELINE``: its window.py and pools.py read from git and loaded side by side), in the same
run, each on the same inputs and required to give the same bytes: the hour above; the same
pool with lognormal lengths (ends out of start order: the calendar queue); and
``planner validate default`` end to end (api.validate on one plan, documents compared
without wall-clock fields).

    .venv/bin/python benchmarks/bench_validate.py [--requests 1000000] [--no-baseline]
"""

from __future__ import annotations

import argparse
import heapq
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

import planner.validate.sim as fleet_sim
from planner import api
from planner.demand.spec import TokenLengths
from planner.validate.arrivals import RequestProfile, draw_arrivals
from planner.validate.failures import Reliability, simulate_outages
from planner.validate.pools import PoolSpec, slot_model
from planner.validate.window import simulate_window

THETA = 1119.0  # h200-sxm on deepseek-r1-8k1k at 35 tok/s/user [tokens/s per GPU]
PROFILE = RequestProfile("chat", 9216.0, 1024 / 9216, 35.0)
BASELINE = "09f6433"  # the last commit before the sequenced event streams
ROOT = Path(__file__).resolve().parents[1]
RESULT_ARRAYS = ("wait_s", "served", "interrupted", "workload", "pool", "tokens", "busy_slot_s", "up_slot_s")


def baseline_simulate_window():
    """``simulate_window`` as of BASELINE: its window.py and pools.py from git, as modules of their own."""
    modules = {}
    for name in ("pools", "window"):
        src = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{BASELINE}:planner/validate/{name}.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        src = src.replace("from planner.validate.pools import", "from baseline_validate_pools import")
        module = types.ModuleType(f"baseline_validate_{name}")
        sys.modules[module.__name__] = module  # dataclasses look their module up
        exec(compile(src, f"{BASELINE}:planner/validate/{name}.py", "exec"), module.__dict__)
        modules[name] = module
    return modules["window"].simulate_window


def same_result(a, b) -> bool:
    """Byte-identical window results (all but the wall time)."""
    arrays = all(getattr(a, f).tobytes() == getattr(b, f).tobytes() for f in RESULT_ARRAYS)
    return arrays and (a.run_s, a.requests, a.events) == (b.run_s, b.requests, b.events)


def without_wall_clock(doc):
    if isinstance(doc, dict):
        return {k: without_wall_clock(v) for k, v in doc.items() if k not in ("wall_s", "timings")}
    if isinstance(doc, list):
        return [without_wall_clock(v) for v in doc]
    return doc


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def against_baseline(pool: PoolSpec, rate: float, duration: float, seed: int) -> None:
    """The event streams against BASELINE in this run: same inputs, same bytes, the time ratio."""
    old = baseline_simulate_window()
    print(f"\nevent streams vs baseline {BASELINE} (the simulator before them), same inputs, same run:")
    lognormal = RequestProfile(
        "chat",
        9216.0,
        1024 / 9216,
        35.0,
        input_lengths=TokenLengths(mean=8192.0, median=6000.0),
        output_lengths=TokenLengths(mean=1024.0, median=800.0),
        length_kind="lognormal",
    )
    cases = [
        ("fixed lengths, no failures", PROFILE, rate, dict(patience_s=1e12, prefill=False)),
        ("lognormal lengths, start state", lognormal, 0.3 * rate, dict(patience_s=60.0)),
    ]
    for label, profile, r, kwargs in cases:
        args = ([pool], [profile], np.array([r]), [np.array([1.0])], duration)
        res_old, old_s = timed(old, *args, np.random.default_rng(seed), **kwargs)
        res_new, new_s = timed(simulate_window, *args, np.random.default_rng(seed), **kwargs)
        print(
            f"  {label}: {res_new.requests:,} requests; baseline {old_s:.2f} s, now {new_s:.2f} s: "
            f"{old_s / new_s:.2f}x faster; identical: {same_result(res_old, res_new)}"
        )
    plan = api.plan("default")
    new_simulate = fleet_sim.simulate_window
    try:
        fleet_sim.simulate_window = old
        doc_old, old_s = timed(api.validate, plan=plan)
    finally:
        fleet_sim.simulate_window = new_simulate
    doc_new, new_s = timed(api.validate, plan=plan)
    same = without_wall_clock(doc_old.to_dict()) == without_wall_clock(doc_new.to_dict())
    print(
        f"  planner validate default (2 windows, plan given): baseline {old_s:.2f} s, now {new_s:.2f} s: "
        f"{old_s / new_s:.2f}x faster; identical document: {same}"
    )


def fifo_baseline(arrival: np.ndarray, hold: np.ndarray, slots: int) -> np.ndarray:
    """Waits of a FIFO multi-server queue (Kiefer-Wolfowitz recursion with a heap). [s]"""
    free = [0.0] * slots
    wait = np.empty(len(arrival))
    for i, (a, h) in enumerate(zip(arrival.tolist(), hold.tolist(), strict=True)):
        f = heapq.heappop(free)
        s = a if a > f else f
        wait[i] = s - a
        heapq.heappush(free, s + h)
    return wait


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-baseline", action="store_true", help="skip the comparison with BASELINE")
    args = ap.parse_args()
    nodes = 290
    slots = slot_model(THETA, 8, PROFILE)
    pool = PoolSpec(0, "h200-sxm", 0, "chat", 0, nodes, 8, slots)
    duration = 3600.0
    rate = args.requests / duration
    capacity = pool.slots_total * slots.slot_tokens_per_s / PROFILE.mean_tokens
    print(
        f"pool: {pool.gpus:,} GPUs, {pool.slots_total:,} slots, {slots.slot_tokens_per_s:.1f} tokens/s per slot; "
        f"{rate:.1f} requests/s for {duration:.0f} s, rho {rate / capacity:.3f}"
    )

    # 1. SimPy, no failures, empty start: must equal the FIFO recursion
    t0 = time.perf_counter()
    res = simulate_window(
        [pool],
        [PROFILE],
        np.array([rate]),
        [np.array([1.0])],
        duration,
        np.random.default_rng(args.seed),
        patience_s=1e12,
        prefill=False,
    )
    simpy_s = time.perf_counter() - t0
    arrival = draw_arrivals(rate, duration, np.random.default_rng(args.seed))  # the same first draw
    t1 = time.perf_counter()
    base = fifo_baseline(
        arrival, np.full(len(arrival), PROFILE.mean_tokens / slots.slot_tokens_per_s), pool.slots_total
    )
    base_s = time.perf_counter() - t1
    same = len(base) == len(res.wait_s) and np.allclose(base, res.wait_s, atol=1e-6)
    print(
        f"SimPy   : {len(res.wait_s):,} requests, {res.events:,} events in {simpy_s:.2f} s "
        f"({res.events / simpy_s:,.0f} events/s, {len(res.wait_s) / simpy_s:,.0f} requests/s)"
    )
    print(f"baseline: heapq FIFO recursion {base_s:.2f} s; SimPy / baseline time ratio {simpy_s / base_s:.1f}x")
    print(
        f"waits agree exactly: {same}; mean wait {np.mean(res.wait_s):.4f} s vs {np.mean(base):.4f} s; "
        f"p99 {np.percentile(res.wait_s, 99):.4f} s"
    )

    # 2. with failures (catalog figures) and the near-steady start state
    rel = Reliability(50_000.0, 4.0, 8)
    from planner.milp.problem import SkuData

    h200 = SkuData("h200-sxm", "hopper", 8, 1.73, 0.52, 1.41, False, float("nan"), 0, float("inf"), {}, {})
    out = simulate_outages(h200, 0, nodes, rel, 1.0, args.seed)
    up = int(nodes - out.down_at(0.0).sum())
    trans = [(t * 3600.0, 0, g) for t, _d, g in zip(*[a.tolist() for a in out.window(0.0, 1.0)], strict=True)]
    t2 = time.perf_counter()
    res2 = simulate_window(
        [pool],
        [PROFILE],
        np.array([rate]),
        [np.array([1.0])],
        duration,
        np.random.default_rng(args.seed + 1),
        patience_s=60.0,
        domains_up=[up],
        transitions=trans,
    )
    fail_s = time.perf_counter() - t2
    print(
        f"SimPy with failures ({nodes - up} nodes down at start, {len(trans)} transitions in the hour) and start "
        f"state: {res2.requests:,} requests, {res2.events:,} events in {fail_s:.2f} s "
        f"({res2.events / fail_s:,.0f} events/s); served {res2.served.mean():.4%}, "
        f"interrupted {int(res2.interrupted.sum())}, p99 wait {np.nanpercentile(res2.wait_s, 99):.4f} s"
    )
    if not args.no_baseline:
        against_baseline(pool, rate, duration, args.seed)


if __name__ == "__main__":
    main()
