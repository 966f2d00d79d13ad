"""Request-level simulation of one short window (SimPy): arrivals, a router, pools, outages.

Every request is one row of a ``RequestBook`` (lists indexed by request id); the
SimPy side only schedules arrivals, completions and availability transitions, as a few
chains of one pending event each, ordered as one timeout per decision would be
(planner.validate.events: same seed, same event order, same bytes). Requests
that arrive during the warm-up are simulated but not measured; the window then drains
(no arrivals after it) until every measured request is served or has given up.

**Start state.** Pools open near their steady state rather than empty: each starts with
``min(slots up, Poisson(offered load))`` requests in service whose remaining holding times
are ``U x`` a length-biased holding time (the equilibrium residual of an M/G/inf system),
plus any backlog the slice inherited (the fluid model's queue), and the failure domains
down at that moment.

**Routers.** ``plan``: each request goes to one of its workload's pools at random with the
plan's token shares (busy GPUs x throughput). ``least_loaded``: to the pool with the least
(busy + queued) / available slots at its arrival (ties: the first).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from planner.validate.arrivals import RequestProfile, draw_arrivals, draw_lengths
from planner.validate.events import URGENT, SequencedEnvironment, Wake
from planner.validate.pools import PoolSpec, SimPool

ROUTERS = ("plan", "least_loaded")


@dataclass
class RequestBook:
    """Per-request state, indexed by request id: Python lists while SimPy runs (an element read
    or write on a list costs a fraction of one on a numpy array, and the simulation does a few
    per event), numpy arrays again through :meth:`arrays` for the summary."""

    arrival: list[float]  # [s]
    tokens: list[float]  # total tokens [tokens]
    start: list[float]  # first start [s], NaN: never started
    finish: list[float]  # [s], NaN: not finished
    pool: list[int]  # pool index, -1: no pool serves its workload
    dropped: list[bool]  # gave up waiting or could not be routed
    interrupted: list[bool]  # a failure stopped it at least once
    restarts: list[int]

    @classmethod
    def of(cls, arrival: np.ndarray, tokens: np.ndarray) -> RequestBook:
        n = len(arrival)
        nan = float("nan")
        return cls(
            arrival=arrival.tolist(),
            tokens=tokens.tolist(),
            start=[nan] * n,
            finish=[nan] * n,
            pool=[-1] * n,
            dropped=[False] * n,
            interrupted=[False] * n,
            restarts=[0] * n,
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """The mutable state as numpy arrays."""
        return {
            "start": np.array(self.start, dtype=float),
            "finish": np.array(self.finish, dtype=float),
            "pool": np.array(self.pool, dtype=int),
            "dropped": np.array(self.dropped, dtype=bool),
            "interrupted": np.array(self.interrupted, dtype=bool),
            "restarts": np.array(self.restarts, dtype=int),
        }


@dataclass(frozen=True)
class WindowResult:
    """Measured requests of one window and the pools' time integrals."""

    wait_s: np.ndarray  # queueing delay of measured requests served (NaN if not served) [s]
    served: np.ndarray  # bool, measured requests
    interrupted: np.ndarray  # bool
    workload: np.ndarray  # int
    pool: np.ndarray  # int
    tokens: np.ndarray  # [tokens]
    busy_slot_s: np.ndarray  # (P,) [slot-s] over the whole run
    up_slot_s: np.ndarray  # (P,) [slot-s]
    run_s: float  # simulated time, warm-up and drain included [s]
    requests: int  # all requests simulated (warm-up, prefill included)
    events: int  # SimPy events processed (arrivals, starts, availability transitions)
    wall_s: float


def _length_biased_holds(profile: RequestProfile, rate: float, n: int, rng: np.random.Generator) -> np.ndarray:
    if n == 0:
        return np.zeros(0)
    total, _ = draw_lengths(profile, 4 * n + 16, rng)
    picked = rng.choice(total, size=n, replace=True, p=total / total.sum())
    return rng.random(n) * picked / rate


def simulate_window(
    pools: list[PoolSpec],
    profiles: list[RequestProfile],
    rates_per_s: np.ndarray,
    shares: list[np.ndarray],
    duration_s: float,
    rng: np.random.Generator,
    *,
    warmup_s: float = 0.0,
    router: str = "plan",
    patience_s: float = 60.0,
    domains_up: list[int] | None = None,
    transitions: list[tuple[float, int, bool]] | None = None,
    initial_queue: list[int] | None = None,
    prefill: bool = True,
) -> WindowResult:
    """Simulate ``warmup_s + duration_s`` seconds of arrivals and drain.

    ``rates_per_s[w]``: requests/s of workload w; ``shares[w]``: (P,) share of w per pool
    (plan router; zero where a pool does not serve w); ``transitions``: (time [s], pool,
    goes_down) availability changes of one failure domain each.
    """
    if router not in ROUTERS:
        raise ValueError(f"router must be one of {ROUTERS}, got {router!r}")
    wall = time.perf_counter()
    P, W = len(pools), len(profiles)
    domains_up = list(domains_up) if domains_up is not None else [p.domains for p in pools]
    horizon = warmup_s + duration_s

    # ---- draw every request up front ----------------------------------------
    pre_arr, pre_tok, pre_wl, pre_pool, pre_hold = [], [], [], [], []
    for j, p in enumerate(pools):
        w = p.workload_index
        prof = profiles[w]
        rate_pool = rates_per_s[w] * shares[w][j] if router == "plan" else rates_per_s[w] * _cap_share(pools, w, j)
        offered = rate_pool * prof.mean_tokens / p.slots.slot_tokens_per_s
        up_slots = domains_up[j] * p.slots.slots_per_domain
        n0 = min(up_slots, int(rng.poisson(offered))) if prefill and offered > 0 else 0
        q0 = int(initial_queue[j]) if initial_queue else 0
        holds = _length_biased_holds(prof, p.slots.slot_tokens_per_s, n0, rng)
        toks = draw_lengths(prof, n0 + q0, rng)[0]
        pre_arr.append(np.zeros(n0 + q0))
        pre_tok.append(toks)
        pre_wl.append(np.full(n0 + q0, w))
        pre_pool.append(np.full(n0 + q0, j))
        pre_hold.append(np.concatenate([holds, np.full(q0, np.nan)]))
    arr, tok, wl = [np.concatenate(pre_arr) if pre_arr else np.zeros(0)], [], []
    tok = [np.concatenate(pre_tok) if pre_tok else np.zeros(0)]
    wl = [np.concatenate(pre_wl).astype(int) if pre_wl else np.zeros(0, dtype=int)]
    n_pre = len(arr[0])
    for w, prof in enumerate(profiles):
        t = draw_arrivals(rates_per_s[w], horizon, rng, prof.burstiness) if rates_per_s[w] > 0 else np.zeros(0)
        arr.append(t)
        tok.append(draw_lengths(prof, len(t), rng)[0])
        wl.append(np.full(len(t), w, dtype=int))
    arrival = np.concatenate(arr)
    tokens = np.concatenate(tok)
    workload = np.concatenate(wl)
    order = n_pre + np.argsort(arrival[n_pre:], kind="stable")
    measured = np.zeros(len(arrival), dtype=bool)
    measured[n_pre:] = arrival[n_pre:] >= warmup_s
    book = RequestBook.of(arrival, tokens)

    # plan router: pool of every arrival drawn up front, per workload
    routed = np.full(len(arrival), -1, dtype=int)
    if router == "plan":
        for w in range(W):
            idx = np.flatnonzero(workload[n_pre:] == w) + n_pre
            s = shares[w]
            if len(idx) and s.sum() > 0:
                routed[idx] = rng.choice(P, size=len(idx), p=s / s.sum())
    candidates = [[j for j, p in enumerate(pools) if p.workload_index == w] for w in range(W)]
    workload_of = workload.tolist()

    # ---- SimPy ------------------------------------------------------------------
    # a workload whose requests all have one length holds its pools' slots equally long
    equal = [_all_equal(tokens[workload == w]) for w in range(W)]
    env = SequencedEnvironment()
    sims = [
        SimPool(
            env,
            j,
            p,
            domains_up[j],
            book,
            rng,
            patience_s,
            equal_holds=equal[p.workload_index],
            mean_hold_s=profiles[p.workload_index].mean_tokens / p.slots.slot_tokens_per_s,
        )
        for j, p in enumerate(pools)
    ]
    pre_pool_all = np.concatenate(pre_pool).astype(int) if pre_pool else np.zeros(0, dtype=int)
    pre_hold_all = np.concatenate(pre_hold) if pre_hold else np.zeros(0)
    for i in range(n_pre):
        pool = sims[pre_pool_all[i]]
        if np.isnan(pre_hold_all[i]):
            book.pool[i] = pool.index
            pool.queue.append(i)
        else:
            pool.start_prefilled(i)
    in_service = np.flatnonzero(~np.isnan(pre_hold_all))
    releases = in_service[np.argsort(pre_hold_all[in_service], kind="stable")]

    release_order = releases.tolist()
    release_at = pre_hold_all.tolist()
    release_pool = pre_pool_all.tolist()
    released = 0

    def release(_event=None) -> None:
        """End the prefilled requests due now, then wait for the next (a chain of one event)."""
        nonlocal released
        n = len(release_order)
        while released < n:
            i = release_order[released]
            dt = release_at[i] - env.now
            if dt > 0:
                env.arm_in(release_wake, dt, env.draw())
                return
            released += 1
            sims[release_pool[i]].finish_prefilled(i)

    release_wake = Wake(env, release)
    counter = {"events": n_pre}

    at = arrival.tolist()
    to_pool = routed.tolist()
    sequence = order.tolist()
    cursor = 0
    dropped = book.dropped

    def route_least_loaded(i: int) -> None:
        cands = candidates[workload_of[i]]
        j = min(cands, key=lambda c: sims[c].load()) if cands else -1
        if j != -1 and sims[j].capacity == 0 and all(sims[c].capacity == 0 for c in cands):
            j = cands[0]
        if j < 0:
            dropped[i] = True
        else:
            sims[j].submit(i)

    def arrive(_event=None) -> None:
        """Admit every arrival due now, then wait for the next one (a chain of one event:
        one pending wake-up at a time, without a generator process per resume)."""
        nonlocal cursor
        n = len(sequence)
        plan = router == "plan"
        while cursor < n:
            i = sequence[cursor]
            dt = at[i] - env.now
            if dt > 0:
                env.arm_in(arrive_wake, dt, env.draw())
                return
            cursor += 1
            if plan:
                j = to_pool[i]
                if j < 0:
                    dropped[i] = True
                else:
                    sims[j].submit(i)
            else:
                route_least_loaded(i)
        counter["events"] += n

    arrive_wake = Wake(env, arrive)
    outage_wake = Wake(env, lambda _event: outage(resumed=True))
    next_transition = 0

    def outage(resumed: bool = False) -> None:
        """Apply the availability changes due now, then wait for the next (as a generator process
        would: the change a wake-up was armed for applies without checking the clock again)."""
        nonlocal next_transition
        while next_transition < len(transitions):
            t, j, down = transitions[next_transition]
            dt = t - env.now
            if dt > 0 and not resumed:
                env.arm_in(outage_wake, dt, env.draw())
                return
            resumed = False
            next_transition += 1
            (sims[j].domain_down if down else sims[j].domain_up)()
            counter["events"] += 1

    arrive()
    if len(releases):
        release()
    if transitions:
        # a process's first step (SimPy's Initialize event): urgent, before anything else at time 0
        env.arm(Wake(env, lambda _event: outage()), env.now, URGENT)
    env.run()
    for s in sims:
        s.close()
    m = measured
    b = book.arrays()
    served = m & ~b["dropped"] & ~np.isnan(b["finish"])
    wait = np.where(served, b["start"] - arrival, np.nan)[m]
    return WindowResult(
        wait_s=wait,
        served=served[m],
        interrupted=b["interrupted"][m],
        workload=workload[m],
        pool=b["pool"][m],
        tokens=tokens[m],
        busy_slot_s=np.array([s.busy_slot_s for s in sims]),
        up_slot_s=np.array([s.up_slot_s for s in sims]),
        run_s=float(env.now),
        requests=len(arrival),
        events=counter["events"] + int((~np.isnan(b["start"])).sum() + b["restarts"].sum()),
        wall_s=time.perf_counter() - wall,
    )


def _all_equal(values: np.ndarray) -> bool:
    return len(values) == 0 or bool((values == values[0]).all())


def _cap_share(pools: list[PoolSpec], w: int, j: int) -> float:
    """Share of workload w a least-loaded router gives pool j in steady state: its capacity share."""
    cap = [p.slots_total * p.slots.slot_tokens_per_s if p.workload_index == w else 0.0 for p in pools]
    total = sum(cap)
    return cap[j] / total if total > 0 else 0.0
