"""Replay a scenario's demand against a plan's fleet: ``simulate_fleet`` -> FleetSimResult.

A week at ~10^4 requests/s is ~10^10 requests: far beyond request-level simulation here
(SimPy serves ~10^5 requests/s). So the span is covered in two layers:

1. **Outages** of every failure domain over the whole span, in SimPy (failures.py).
2. **Coarse model** of every slice (fluid.py): Erlang C waiting when a pool keeps up, a
   fluid backlog carried from slice to slice when it does not, with the pools' capacity
   reduced by the time-average outages of the slice.
3. **Request level** (window.py) for ``windows`` slices: first the **demand peak**, the
   slice with the highest peak demand relative to the fleet's capacity (sum over workloads
   of peak tokens/s / the tokens/s the whole fleet, less its time-average outages, could
   give that workload), then the slices with the most loaded pool (peak rate / available
   capacity of the pool under the plan's dispatch), skipping the one already chosen. Both
   are needed: the demand peak is where the fleet as a whole is tightest, but a dispatch
   that is free to spread quiet hours unevenly can load one pool more in a quiet hour.
   Each window is ``window_s`` seconds (after ``warmup_s``) in the middle of the slice, at
   the slice's peak rate, with that moment's outages and the backlog the slice inherited.
   Their measured attainment replaces the coarse estimate for their slice, and both are
   reported side by side. ``peak_slo_attainment`` (key name kept for compatibility) is the
   attainment of the requests measured in these windows, the demand peak always among them
   when ``windows >= 1``; ``WindowSummary.selected_by`` says why each slice was chosen.

Span figures weight each slice by its requests (mean rate x hours). Pools, routers and the
slot model: pools.py and window.py. Randomness: failure histories from
``SeedSequence(seed, spawn_key=(sku, domain))``, window ``t`` from
``SeedSequence(seed, spawn_key=(10**6 + t,))``: same seed, same result, and the closed loop's
iterations share their random numbers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

import planner.progress as progress
from planner.errors import ScenarioError
from planner.limits import MAX_WINDOW_REQUESTS, check_count
from planner.milp.problem import FleetProblem
from planner.milp.status import Status
from planner.optimize.plan import FleetPlan
from planner.validate.arrivals import RequestProfile, service_cv2
from planner.validate.failures import Outages, Reliability, simulate_outages, sku_reliability
from planner.validate.fluid import HEAVY_TRAFFIC_RHO, Flow, WaitMixture, fluid_flow, wait_model
from planner.validate.metrics import FleetSimResult, SloTargets, WindowSummary
from planner.validate.pools import PoolSpec, SlotModel, slot_model, split_domains
from planner.validate.window import ROUTERS, simulate_window

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class ValidationOptions:
    seed: int = 0
    router: str = "plan"  # plan | least_loaded
    failures: bool = True
    mtbf_hours_per_gpu: float | None = None  # fleet-wide override [h]
    mttr_hours: float | None = None  # fleet-wide override [h]
    maintenance_hours_per_week: float = 0.0  # per failure domain [h]
    windows: int = 2  # request-level windows (the demand peak, then the most loaded pools)
    window_s: float = 60.0  # measured length of each window [s]
    warmup_s: float = 30.0  # simulated before measuring [s]
    targets: SloTargets = SloTargets()

    def check(self) -> None:
        problems = []
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) or self.seed < 0:
            problems.append(f"seed: {self.seed!r} must be a whole number >= 0")
        if self.router not in ROUTERS:
            problems.append(f"router: '{self.router}' is not one of {', '.join(ROUTERS)}")
        for name in ("window_s", "warmup_s", "maintenance_hours_per_week"):
            v = getattr(self, name)
            if not (v >= 0 and math.isfinite(v)):
                problems.append(f"{name}: {v!r} must be a number >= 0")
        if self.window_s <= 0:
            problems.append(f"window_s: {self.window_s!r} must be > 0")
        if self.maintenance_hours_per_week >= 168:
            problems.append(f"maintenance_hours_per_week: {self.maintenance_hours_per_week} must be below 168")
        if self.windows < 0:
            problems.append(f"windows: {self.windows} must be >= 0")
        for name in ("max_queue_delay_s", "patience_s"):
            v = getattr(self.targets, name)
            if not (v > 0 and math.isfinite(v)):
                problems.append(f"{name}: {v!r} must be a positive number of seconds")
        for name in ("mtbf_hours_per_gpu", "mttr_hours"):
            v = getattr(self, name)
            if v is not None and not (v > 0 and math.isfinite(v)):
                problems.append(f"{name}: {v!r} must be a positive number of hours (MTBF per GPU, MTTR)")
        if not self.failures:
            problems += [
                f"`{name}` has no effect with failures off: drop it or turn failures on"
                for name, v in (("mtbf_hours_per_gpu", self.mtbf_hours_per_gpu), ("mttr_hours", self.mttr_hours))
                if v is not None
            ]
        if problems:
            raise ScenarioError(f"validation options: {len(problems)} problem(s) found", problems)


def fleet_units(problem: FleetProblem, plan: FleetPlan) -> np.ndarray:
    """Units per SKU of the plan, in the problem's SKU order."""
    by_id = {f.sku: f.units for f in plan.fleet}
    return np.array([by_id.get(s.id, 0) for s in problem.skus], dtype=int)


def slice_pools(
    problem: FleetProblem,
    busy: np.ndarray,
    t: int,
    domains: np.ndarray,
    rel: list[Reliability],
    slots: dict[tuple[int, int], SlotModel],
) -> list[PoolSpec]:
    """Pools of slice t: each SKU's domains split over workloads by the plan's busy GPUs."""
    pools = []
    for j, s in enumerate(problem.skus):
        ks = [k for k in range(len(problem.workloads)) if (j, k) in slots]
        if not ks or domains[j] == 0:
            continue
        split = split_domains(int(domains[j]), busy[j, ks, t])
        first = 0
        for k, n in zip(ks, split.tolist(), strict=True):
            if n > 0:
                pools.append(
                    PoolSpec(j, s.id, k, problem.workloads[k], first, n, rel[j].gpus_per_domain, slots[(j, k)])
                )
            first += n
    return pools


def _shares(problem: FleetProblem, pools: list[PoolSpec], busy: np.ndarray, t: int, router: str) -> list[np.ndarray]:
    theta = problem.throughput
    out = []
    for k in range(len(problem.workloads)):
        s = np.zeros(len(pools))
        for i, p in enumerate(pools):
            if p.workload_index == k:
                s[i] = (
                    busy[p.sku_index, k, t] * theta[p.sku_index, k]
                    if router == "plan"
                    else p.slots_total * p.slots.slot_tokens_per_s
                )
        if s.sum() <= 0:  # the plan sends nothing there: fall back on capacity
            s = np.array([p.slots_total * p.slots.slot_tokens_per_s if p.workload_index == k else 0.0 for p in pools])
        out.append(s / s.sum() if s.sum() > 0 else s)
    return out


def _percentiles(wait: np.ndarray) -> dict[str, float]:
    w = wait[~np.isnan(wait)]
    if len(w) == 0:
        return {"p50": math.nan, "p90": math.nan, "p99": math.nan, "max": math.nan}
    p = np.percentile(w, [50, 90, 99])
    return {"p50": float(p[0]), "p90": float(p[1]), "p99": float(p[2]), "max": float(w.max())}


@dataclass
class Ledger:
    """Requests per workload through the coarse model: demanded = served + dropped + backlog."""

    demanded: np.ndarray  # (W,) [requests]
    served: np.ndarray
    dropped: np.ndarray
    backlog: np.ndarray
    interrupted: np.ndarray

    @classmethod
    def of(cls, n: int) -> Ledger:
        return cls(*(np.zeros(n) for _ in range(5)))

    def arrive(self, requests: np.ndarray) -> None:
        self.demanded += requests

    def drop(self, k: int, n: float) -> None:
        self.dropped[k] += n

    def serve(self, k: int, served: float, dropped: float, interrupted: float) -> None:
        self.served[k] += served
        self.dropped[k] += dropped
        self.interrupted[k] += interrupted

    def leave(self, k: int, queued: float) -> None:
        self.backlog[k] += queued

    def accounting(self, workloads: tuple[str, ...], mean_tokens: list[float]) -> dict[str, dict[str, dict[str, int]]]:
        """Whole tokens and requests per workload and in total; served absorbs the rounding, so
        ``demanded == served + dropped + backlog`` holds exactly in integers."""

        def whole(demanded: float, dropped: float, backlog: float, interrupted: float) -> dict[str, int]:
            d, x, b = round(demanded), round(dropped), round(backlog)
            return {"demanded": d, "served": d - x - b, "dropped": x, "backlog": b, "interrupted": round(interrupted)}

        out: dict[str, dict[str, dict[str, int]]] = {}
        for k, w in enumerate(workloads):
            parts = (self.demanded[k], self.dropped[k], self.backlog[k], self.interrupted[k])
            out[w] = {"tokens": whole(*(x * mean_tokens[k] for x in parts)), "requests": whole(*parts)}
        out["total"] = {
            unit: {key: sum(out[w][unit][key] for w in workloads) for key in out[workloads[0]][unit]}
            for unit in ("tokens", "requests")
        }
        return out


def _window_start(
    pools: list[PoolSpec], flows: dict[tuple[int, int], Flow], prof: list[RequestProfile]
) -> tuple[float, list[int]]:
    """Where in its slice a window goes (0 start, 0.5 middle, 1 end) and each pool's queue there.

    At the moment of the slice's largest fluid backlog (in seconds of work: backlog / capacity
    of the pool whose delay is largest), so that a window is never less loaded than the slice
    it stands for; the middle when no pool has a backlog.
    """
    worst, at = 0.0, 0.5
    for p in pools:
        f = flows[(p.sku_index, p.workload_index)]
        rate = p.slots_total * p.slots.slot_tokens_per_s / prof[p.workload_index].mean_tokens
        delay = f.peak_backlog / rate if rate > 0 else math.inf if f.peak_backlog > 0 else 0.0
        if delay > worst:
            worst, at = delay, f.peak_at
    queue = []
    for p in pools:
        f = flows[(p.sku_index, p.workload_index)]
        queue.append(int(round({0.0: f.backlog_start, 1.0: f.backlog_end}.get(at, 0.0))))
    return at, queue


def _measured_queueing(
    res, pools: list[PoolSpec], workloads: tuple[str, ...], patience: float, tau: float
) -> dict[str, dict[str, dict[str, float]]]:
    """Per workload and SKU, the window's measured waits (a request that gave up waited the patience)."""
    wait = np.where(res.served, res.wait_s, patience)
    sku_of = np.array([p.sku for p in pools] + [""], dtype=object)[np.where(res.pool >= 0, res.pool, len(pools))]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for k, w in enumerate(workloads):
        mk = res.workload == k
        if not mk.any():
            continue
        groups = {"all": mk, **{s: mk & (sku_of == s) for s in dict.fromkeys(p.sku for p in pools)}}
        out[w] = {
            name: {
                "requests": int(sel.sum()),
                "p_wait": float((wait[sel] > 0).mean()),
                "p_late": float((wait[sel] > tau).mean()),
                "mean_s": float(wait[sel].mean()),
                "p95_s": float(np.percentile(wait[sel], 95)),
                "p99_s": float(np.percentile(wait[sel], 99)),
            }
            for name, sel in groups.items()
            if sel.any()
        }
    return out


def _check_size(problem: FleetProblem, prof: list[RequestProfile], options: ValidationOptions) -> None:
    """Refuse windows the span does not have, or windows that would draw too many requests."""
    c = problem.curve
    T = len(c.start_hours)
    if options.windows > T:
        raise ScenarioError(
            f"`windows` {options.windows}: the span has {T:,} slices, one window each at most; use {T} or fewer"
        )
    per_slice = sum(c.peak[k] / p.mean_tokens for k, p in enumerate(prof)) * (options.warmup_s + options.window_s)
    busiest = np.sort(per_slice)[::-1][: options.windows]
    check_count(
        float(busiest.sum()),
        MAX_WINDOW_REQUESTS,
        f"validation: requests the {options.windows} request-level window(s) would draw at the busiest slices' peak "
        f"rates over {options.warmup_s + options.window_s:g} s each",
        "use fewer `windows` or a shorter `window_s` / `warmup_s`",
    )


def simulate_fleet(
    problem: FleetProblem,
    plan: FleetPlan,
    profiles: dict[str, RequestProfile],
    options: ValidationOptions = ValidationOptions(),
) -> FleetSimResult:
    """Simulate the plan's fleet serving the problem's demand (see module doc)."""
    options.check()
    if plan.status == Status.INFEASIBLE or plan.dispatch is None:
        raise ScenarioError(f"plan for '{plan.scenario}' has no fleet to validate (status {plan.status})")
    t_start = time.perf_counter()
    c = problem.curve
    W, T = len(problem.workloads), len(c.start_hours)
    tau, patience = options.targets.max_queue_delay_s, options.targets.patience_s
    units = fleet_units(problem, plan)
    busy = plan.dispatch.busy
    theta = problem.throughput
    prof = [profiles[w] for w in problem.workloads]
    _check_size(problem, prof, options)
    rel = [
        sku_reliability(
            s, failures=options.failures, mtbf_hours_per_gpu=options.mtbf_hours_per_gpu, mttr_hours=options.mttr_hours
        )
        for s in problem.skus
    ]
    gpus = np.array([units[j] * s.gpus_per_unit for j, s in enumerate(problem.skus)], dtype=int)
    domains = np.array([gpus[j] // rel[j].gpus_per_domain for j in range(len(problem.skus))], dtype=int)
    slots = {
        (j, k): slot_model(float(theta[j, k]), rel[j].gpus_per_domain, prof[k])
        for j in range(len(problem.skus))
        for k in range(W)
        if theta[j, k] > 0
    }
    overridden = options.mtbf_hours_per_gpu is not None or options.mttr_hours is not None
    notes = [
        f"{s.id} fails at a {s.reliability_basis}: the scenario gives no mtbf_hours_per_gpu / mttr_hours for it"
        for j, s in enumerate(problem.skus)
        if options.failures and not overridden and s.reliability_basis.startswith("default") and gpus[j] > 0
    ]
    notes += [
        f"{problem.skus[j].id} cannot hold one {problem.workloads[k]} request per failure domain at "
        f"{prof[k].interactivity:g} tok/s/user: its users get {m.user_output_tokens_per_s:.3g}"
        for (j, k), m in slots.items()
        if not m.meets_interactivity and gpus[j] > 0
    ]

    # ---- 1. outages over the span -------------------------------------------------
    edges = np.concatenate([c.start_hours, [c.start_hours[-1] + c.slice_hours[-1]]])
    span = float(edges[-1])
    outages: list[Outages] = []
    for j, s in enumerate(problem.skus):
        share = busy[j].sum(axis=0) / gpus[j] if gpus[j] > 0 else np.zeros(T)
        outages.append(
            simulate_outages(
                s,
                j,
                int(domains[j]),
                rel[j],
                span,
                options.seed,
                maintenance_hours_per_week=options.maintenance_hours_per_week,
                busy_share=share,
                starts_h=c.start_hours,
            )
        )
    down_domains = np.array([o.mean_down_domains(edges) for o in outages])  # (S, T)
    fails = np.array([o.failures_per_slice(edges) for o in outages])  # (S, T)
    t_outages = time.perf_counter()

    # ---- 2. coarse model over every slice ------------------------------------------
    req_mean = np.array([c.mean[k] / prof[k].mean_tokens for k in range(W)])  # (W, T) requests/s
    req_peak = np.array([c.peak[k] / prof[k].mean_tokens for k in range(W)])
    requests = req_mean * c.slice_hours[None, :] * SECONDS_PER_HOUR  # (W, T)
    ca2 = [p.burstiness**2 for p in prof]
    cs2 = [service_cv2(p) for p in prof]
    late = np.zeros((W, T))
    book = Ledger.of(W)
    slice_tokens = {key: np.zeros(T) for key in ("served", "dropped", "backlog")}  # all workloads [tokens]
    mixtures: dict[tuple[int, int], WaitMixture] = {}
    model_count = {"allen_cunneen": 0, "heavy_traffic": 0}
    busy_gpu_h = np.zeros(len(problem.skus))
    pressure = np.zeros(T)
    backlog: dict[tuple[int, int], float] = {}
    flows: list[dict[tuple[int, int], Flow]] = []  # per slice: pool -> its fluid flow
    all_pools: list[list[PoolSpec]] = []
    all_shares: list[list[np.ndarray]] = []
    for t in progress.track(range(T), "validation: coarse model, slice by slice"):
        pools = slice_pools(problem, busy, t, domains, rel, slots)
        shares = _shares(problem, pools, busy, t, options.router)
        all_pools.append(pools)
        all_shares.append(shares)
        h = float(c.slice_hours[t])
        duration = h * SECONDS_PER_HOUR
        book.arrive(requests[:, t])
        for k in range(W):
            if not any(p.workload_index == k for p in pools):  # nothing serves it: every request gives up
                book.drop(k, requests[k, t])
                slice_tokens["dropped"][t] += requests[k, t] * prof[k].mean_tokens
                late[k, t] = 1.0 if requests[k, t] > 0 else 0.0
        here: dict[tuple[int, int], Flow] = {}
        for i, p in enumerate(pools):
            j, k = p.sku_index, p.workload_index
            c_slots = p.slots_total * (1.0 - down_domains[j, t] / domains[j])
            mu = p.slots.slot_tokens_per_s / prof[k].mean_tokens
            m = c_slots * mu
            lam_pk = req_peak[k, t] * shares[k][i]
            lam_mean = req_mean[k, t] * shares[k][i]
            if m > 0:
                pressure[t] = max(pressure[t], lam_pk / m)
            n_req = lam_mean * duration
            rho = min(1.0, lam_mean / m) if m > 0 else 1.0
            hit = min(n_req, fails[j, t] * (p.domains / domains[j]) * rho * p.slots.slots_per_domain)
            # an interrupted request restarts: on average half a holding time of work is lost
            m_eff = max(0.0, m - hit * 0.5 / duration)
            q0 = backlog.pop((j, k), 0.0)
            flow = fluid_flow(lam_mean, m_eff, q0, duration, patience)
            here[(j, k)] = flow
            backlog[(j, k)] = flow.backlog_end
            book.serve(k, flow.served, flow.dropped, hit)
            slice_tokens["served"][t] += flow.served * prof[k].mean_tokens
            slice_tokens["dropped"][t] += flow.dropped * prof[k].mean_tokens
            wm = wait_model(lam_pk, c_slots, mu, q0, duration, ca2=ca2[k], cs2=cs2[k])
            if wm.kind in model_count:
                model_count[wm.kind] += 1
            mixtures.setdefault((k, j), WaitMixture()).add(n_req, wm)
            lt = float(wm.survival(np.array([tau]))[0])
            if n_req > 0:
                lt = min(1.0, max(lt, flow.dropped / (n_req + q0)) + hit / n_req)
            if not p.slots.meets_interactivity:
                lt = 1.0
            late[k, t] += shares[k][i] * lt
            busy_gpu_h[j] += (flow.served + 0.5 * hit) / mu / p.slots.slots_per_domain * p.gpus_per_domain / 3600.0
        for j, k in [key for key in backlog if key not in here]:  # a pool gone this slice: its queue gives up
            q = backlog.pop((j, k))
            book.serve(k, 0.0, q, 0.0)
            slice_tokens["dropped"][t] += q * prof[k].mean_tokens
        slice_tokens["backlog"][t] = sum(q * prof[k].mean_tokens for (_, k), q in backlog.items())
        flows.append(here)
    for (_, k), q in backlog.items():
        book.leave(k, q)
    ok = np.clip(1.0 - late, 0.0, 1.0)
    analytic_ok = ok.copy()
    t_fluid = time.perf_counter()

    # ---- 3. request-level windows ----------------------------------------------------
    # The demand peak first (highest demand relative to the fleet's available capacity), then
    # the slices with the most loaded pool: see the module doc ("peak" = these windows).
    up_gpus = np.array(
        [gpus[j] * (1.0 - down_domains[j] / domains[j]) if domains[j] > 0 else np.zeros(T) for j in range(len(gpus))]
    )  # (S, T)
    fleet_tokens_per_s = np.einsum("jk,jt->kt", theta, up_gpus)  # (W, T) all available GPUs on workload k
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_demand = np.where(c.peak > 0, c.peak / fleet_tokens_per_s, 0.0).sum(axis=0)  # (T,) inf: no capacity
    has_requests = requests.sum(axis=0) > 0
    chosen: list[tuple[int, str]] = []
    if has_requests.any():
        peak_t = int(np.argmax(np.where(has_requests, rel_demand, -1.0)))
        chosen.append((peak_t, "demand_peak"))
    for t in np.argsort(-pressure, kind="stable").tolist():
        if has_requests[t] and all(t != u for u, _ in chosen):
            chosen.append((t, "most_loaded_pool"))
    summaries: list[WindowSummary] = []
    waits = []
    measured_ok = measured_n = 0
    for t, selected_by in progress.track(chosen[: options.windows], "validation: request-level windows (SimPy)"):
        pools = all_pools[t]
        if not pools:
            continue
        run = options.warmup_s + options.window_s
        slice_s = float(c.slice_hours[t]) * SECONDS_PER_HOUR
        at, q0 = _window_start(pools, flows[t], prof)
        offset = max(0.0, (slice_s - run) * at)
        t0_h = float(c.start_hours[t]) + offset / SECONDS_PER_HOUR
        t1_h = t0_h + run / SECONDS_PER_HOUR
        up, trans = [], []
        owner = {}
        for i, p in enumerate(pools):
            down = outages[p.sku_index].down_at(t0_h)[p.first_domain : p.first_domain + p.domains]
            up.append(int(p.domains - down.sum()))
            for d in range(p.first_domain, p.first_domain + p.domains):
                owner[(p.sku_index, d)] = i
        for j, o in enumerate(outages):
            for th, d, g in zip(*[a.tolist() for a in o.window(t0_h, t1_h)], strict=True):
                if (j, d) in owner:
                    trans.append(((th - t0_h) * SECONDS_PER_HOUR, owner[(j, d)], g))
        trans.sort(key=lambda x: x[0])
        rng = np.random.default_rng(np.random.SeedSequence(options.seed, spawn_key=(10**6 + t,)))
        res = simulate_window(
            pools,
            prof,
            req_peak[:, t],
            all_shares[t],
            options.window_s,
            rng,
            warmup_s=options.warmup_s,
            router=options.router,
            patience_s=patience,
            domains_up=up,
            transitions=trans,
            initial_queue=q0,
        )
        meets = np.array([p.slots.meets_interactivity for p in pools])
        good = res.served & ~res.interrupted & (np.nan_to_num(res.wait_s, nan=np.inf) <= tau)
        good &= np.where(res.pool >= 0, meets[np.maximum(res.pool, 0)], False)
        for k in range(W):
            mk = res.workload == k
            if mk.any():
                ok[k, t] = float(good[mk].mean())
        waits.append(res.wait_s)
        measured_ok += int(good.sum())
        measured_n += len(good)
        util = {}
        for p_i, p in enumerate(pools):
            u = util.setdefault(p.sku, [0.0, 0.0])
            u[0] += res.busy_slot_s[p_i]
            u[1] += res.up_slot_s[p_i]
        n_t = requests[:, t]
        summaries.append(
            WindowSummary(
                hour=float(c.start_hours[t]),
                selected_by=selected_by,
                offset_s=offset,
                duration_s=options.window_s,
                requests=len(good),
                slo_attainment=float(good.mean()) if len(good) else math.nan,
                served_fraction=float(res.served.mean()) if len(good) else math.nan,
                analytic_slo_attainment=float((analytic_ok[:, t] * n_t).sum() / n_t.sum()),
                queue_delay_s=_percentiles(res.wait_s),
                utilization={s: (float(b / a) if a > 0 else 0.0) for s, (b, a) in util.items()},
                interrupted=int(res.interrupted.sum()),
                events=res.events,
                wall_s=res.wall_s,
                dropped=int((~res.served).sum()),
                initial_queue={f"{p.sku}/{p.workload}": int(q) for p, q in zip(pools, q0, strict=True) if q > 0},
                queueing=_measured_queueing(res, pools, problem.workloads, patience, tau),
            )
        )
    t_windows = time.perf_counter()

    # ---- 4. span figures ----------------------------------------------------------------
    n_total = requests.sum()
    slo = float((ok * requests).sum() / n_total) if n_total > 0 else 1.0
    slice_n = requests.sum(axis=0)
    slice_ok = np.where(slice_n > 0, (ok * requests).sum(axis=0) / np.maximum(slice_n, 1e-300), 1.0)
    accounting = book.accounting(problem.workloads, [p.mean_tokens for p in prof])
    total = accounting["total"]
    tokens_served = float(total["tokens"]["served"])
    served_frac = total["requests"]["served"] / total["requests"]["demanded"] if total["requests"]["demanded"] else 1.0
    g = gpus.astype(float)
    per_gpu_hour, per_busy_hour = problem.gpu_hour_costs()  # the planner's one cost function
    cost = float((g * per_gpu_hour).sum() * span + (per_busy_hour * busy_gpu_h).sum())
    all_waits = np.concatenate(waits) if waits else np.zeros(0)
    queueing: dict[str, dict[str, dict[str, float]]] = {}
    for k, w in enumerate(problem.workloads):
        per_sku = {}
        every = WaitMixture()
        for j, s in enumerate(problem.skus):
            mix = mixtures.get((k, j))
            if mix is not None and mix.weights:
                per_sku[s.id] = mix.summary(patience, tau)
                every.weights += mix.weights
                every.models += mix.models
        if per_sku:
            queueing[w] = {"all": every.summary(patience, tau), **per_sku}
    availability = {}
    reliability = {}
    for j, s in enumerate(problem.skus):
        if domains[j] == 0:
            continue
        sim_avail = 1.0 - float((down_domains[j] * c.slice_hours).sum() / span / domains[j])
        availability[s.id] = {"expected": rel[j].availability, "simulated": sim_avail}
        reliability[s.id] = {
            "basis": "options (--mtbf-hours / --mttr-hours)" if overridden else s.reliability_basis,
            "mtbf_hours_per_gpu": rel[j].mtbf_hours_per_gpu,
            "mttr_hours": rel[j].mttr_hours,
            "gpus_per_failure_domain": rel[j].gpus_per_domain,
            "failure_domains": int(domains[j]),
            "failures": int(len(outages[j].failure_times_h)),
            "maintenance_domain_hours": outages[j].maintenance_domain_hours,
        }
    return FleetSimResult(
        scenario=problem.name,
        seed=options.seed,
        router=options.router,
        failures=options.failures,
        targets=options.targets,
        slo_attainment=slo,
        served_fraction=served_frac,
        # "peak": the request-level windows, the demand peak always first among them (module doc)
        peak_slo_attainment=measured_ok / measured_n if measured_n else math.nan,
        queue_delay_s=_percentiles(all_waits),
        utilization={
            s.id: float(busy_gpu_h[j] / (g[j] * span)) if g[j] > 0 else 0.0 for j, s in enumerate(problem.skus)
        },
        realized_cost_per_million_tokens=cost / tokens_served * 1e6 if tokens_served > 0 else math.nan,
        planned_cost_per_million_tokens=plan.cost_per_million_tokens,
        realized_cost_usd=cost,
        tokens_served=tokens_served,
        tokens_demanded=float(total["tokens"]["demanded"]),
        accounting=accounting,
        queueing=queueing,
        coarse_models={"heavy_traffic_rho": HEAVY_TRAFFIC_RHO, **model_count},
        availability=availability,
        unavailable_gpus={
            s.id: (down_domains[j] * rel[j].gpus_per_domain).tolist() for j, s in enumerate(problem.skus) if g[j] > 0
        },
        slice_hours=c.start_hours.tolist(),
        slice_slo_attainment=slice_ok.tolist(),
        slice_tokens={key: v.tolist() for key, v in slice_tokens.items()},
        windows=summaries,
        reliability=reliability,
        notes=notes,
        scenario_sha256=problem.scenario_sha256,
        timings={
            "outages_s": t_outages - t_start,
            "coarse_s": t_fluid - t_outages,
            "windows_s": t_windows - t_fluid,
            "total_s": time.perf_counter() - t_start,
        },
    )
