"""Benchmark: a peak hour of about a million requests against a few thousand GPUs, request by request.

Pool: 290 HGX H200 nodes (2,320 GPUs) serving DeepSeek-R1 8k/1k chat at 35 tok/s/user
(1,119 tokens/s per GPU: 28 slots per node); ~278 requests/s for an hour (rho ~0.99), fixed
9,216-token requests. The SimPy simulator (planner.validate.window.simulate_window) runs it
twice: without failures and without a start state, so that it must agree exactly with the
baseline measured in the same run, a FIFO M/G/c recursion on the same arrivals (heapq of slot
free times: start = max(arrival, earliest free slot)); and with the catalog's failures
(MTBF 50,000 GPU-hours, 4 h repairs) and the near-steady start state.

    .venv/bin/python benchmarks/bench_validate.py [--requests 1000000]
"""

from __future__ import annotations

import argparse
import heapq
import time

import numpy as np

from planner.validate.arrivals import RequestProfile, draw_arrivals
from planner.validate.failures import Reliability, simulate_outages
from planner.validate.pools import PoolSpec, slot_model
from planner.validate.window import simulate_window

THETA = 1119.0  # h200-sxm on deepseek-r1-8k1k at 35 tok/s/user [tokens/s per GPU]
PROFILE = RequestProfile("chat", 9216.0, 1024 / 9216, 35.0)


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


if __name__ == "__main__":
    main()
