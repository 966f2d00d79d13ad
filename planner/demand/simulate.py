"""Demand simulator: SimPy traffic sources turning a demand section into a LoadCurve.

SimPy runs what is truly discrete; numpy does the heavy sampling inside it.

* **Event processes** (one per event, ``event_process``) wait for their day and step the
  shared ``Schedule``: a launch or spike adds a load factor, a migration or an outage adds a
  transfer of load between workloads; the end of a spike or outage closes it again.
* **Source processes** (one per workload, ``profile_source`` and ``replay_source``) wake
  at the end of each accounting chunk (whole slices, about a day), read the schedule as the
  events left it, draw the chunk's traffic with numpy and book it in the ``Ledger``.

The simulated quantity is tokens per **peak window** (``peak_resolution_s``, default 60 s);
a slice's mean is its tokens over its length and its peak is its busiest aligned window
(tokens in the window / window length), so the curve carries the minute-scale peak that
sets capacity as well as the mean that sets energy and tokens.

**Profile** (a workload with ``mean_tokens_per_s``), intensity in tokens/s at time t
(seconds from a Monday 00:00):

    x(t) = mean * week(t) * day(t) * (1 + growth)^(t / month) * events(t)

* ``day``: a von Mises bump over the 24 h clock, exp(k cos(2 pi (h - c) / 24)) / I0(k),
  mean exactly 1 over a day, centred at c = peak_hour + 0.5 with k chosen so that the
  hour [peak_hour, peak_hour + 1) averages ``peak_to_mean`` (k = 0: flat).
* ``week``: weekdays 7 / (5 + 2 f), Saturday and Sunday f times that (f = weekend_factor),
  so a week averages 1 and a weekend day averages f times a weekday.
* ``month`` = 365.25 / 12 days.
* ``events``: launch (x 1 -> multiplier, linear over ramp_days, then stays), spike
  (x multiplier for ``hours``), migration (``share`` of the source's load moves here, ramping
  in, and stays), outage (all of this workload's load moves to ``to`` for ``hours``).

Requests: with token lengths, requests arrive at rate x(t) / E[tokens per request] as a
renewal process with Gamma inter-arrival times of coefficient of variation ``burstiness``
(1 = Poisson), and each request's input and output tokens are lognormal with the given
mean and median. Two exact-in-distribution levels of detail:

* **request level** (at most ``request_level_limit`` requests expected over the horizon):
  every arrival is drawn (Gamma steps in operational time, mapped back through the
  cumulative intensity) with its own token lengths;
* **window level** (above it): requests per window are drawn directly, Poisson at
  burstiness 1, negative binomial above (variance burstiness^2 x mean, the renewal
  process' asymptotic count variance), binomial below; the tokens of windows with fewer
  than ``EXACT_SUM_BELOW`` requests are summed request by request, larger sums come from
  a Gamma with the exact mean and variance of the sum (central limit; never negative).

Without token lengths a profile is smooth: tokens per window = x(t) x window, no noise.

**Trace** workloads replay the file (planner/demand/trace.py): every request's tokens land
in the window of its arrival; a trace shorter than the horizon tiles with its period.

Every draw comes from a numpy Generator: replica r of workload w uses
``SeedSequence(seed).spawn(replicas)[r].spawn(workloads)[w]``, so the same seed gives the
same bytes and adding a workload does not change the others' samples.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import simpy
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import i0e

import planner.progress as progress
from planner.demand.curve import BANDS, LoadCurve
from planner.demand.spec import Event, GeneratedDemand, WorkloadTraffic
from planner.demand.trace import Trace, read_trace, replay_period_tokens, trace_period_s
from planner.errors import ScenarioError
from planner.limits import MAX_DEMAND_WINDOWS, MAX_SLICES, MAX_TRACE_REQUESTS, check_count

if TYPE_CHECKING:
    from planner.scenario.load import ScenarioFile

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0
SECONDS_PER_MONTH = 365.25 / 12.0 * SECONDS_PER_DAY
DEFAULT_HORIZON_DAYS = 7.0
EXACT_SUM_BELOW = 16  # windows with fewer requests sum their tokens request by request
SizingQuantile = Literal["p50", "p95", "p99", "mean"]


# ---------------------------------------------------------------- profile shape


def busiest_hour_ratio(concentration: float) -> float:
    """Mean of the daily shape over the hour centred on its peak (shape mean over a day = 1). [1]"""

    def shape(hour: float) -> float:
        return math.exp(concentration * (math.cos(2.0 * math.pi * hour / 24.0) - 1.0))

    return quad(shape, -0.5, 0.5, epsabs=0.0, epsrel=1e-12)[0] / float(i0e(concentration))


@lru_cache(maxsize=256)
def daily_concentration(peak_to_mean: float) -> float:
    """Von Mises concentration k whose busiest hour averages ``peak_to_mean`` x the daily mean. [1]"""
    if peak_to_mean <= 1.0:
        return 0.0
    high = 1.0
    while busiest_hour_ratio(high) < peak_to_mean:
        high *= 2.0
        if high > 1e7:
            raise ScenarioError(f"peak_to_mean {peak_to_mean:g} is too close to 24 to shape a day")
    return float(brentq(lambda k: busiest_hour_ratio(k) - peak_to_mean, 0.0, high, xtol=1e-12, rtol=1e-12))


def profile_tokens_per_s(traffic: WorkloadTraffic, t_s: np.ndarray) -> np.ndarray:
    """Profile intensity before events at times ``t_s`` (from a Monday 00:00). [tokens/s]"""
    assert traffic.mean_tokens_per_s is not None
    k = daily_concentration(traffic.peak_to_mean)
    hour = np.mod(t_s, SECONDS_PER_DAY) / SECONDS_PER_HOUR
    centre = traffic.peak_hour + 0.5
    day = np.exp(k * (np.cos(2.0 * np.pi * (hour - centre) / 24.0) - 1.0)) / i0e(k)
    weekday = 7.0 / (5.0 + 2.0 * traffic.weekend_factor)
    weekend = np.mod(np.floor(t_s / SECONDS_PER_DAY), 7) >= 5
    week = np.where(weekend, weekday * traffic.weekend_factor, weekday)
    growth = (1.0 + traffic.growth_per_month) ** (t_s / SECONDS_PER_MONTH)
    return traffic.mean_tokens_per_s * week * day * growth


# ---------------------------------------------------------------- state shared by processes


class LogEntry(NamedTuple):
    """One line of the simulation's event log."""

    time_s: float
    workload: str
    event: str


@dataclass
class Factor:
    """Load factor on one workload: launch (ramped, open-ended) or spike (closed by its process)."""

    workload: str
    start_s: float
    multiplier: float
    ramp_s: float = 0.0
    end_s: float = math.inf

    def at(self, t_s: np.ndarray) -> np.ndarray:
        if self.ramp_s > 0:
            level = 1.0 + (self.multiplier - 1.0) * np.clip((t_s - self.start_s) / self.ramp_s, 0.0, 1.0)
        else:
            level = np.full(t_s.shape, self.multiplier)
        return np.where((t_s >= self.start_s) & (t_s < self.end_s), level, 1.0)


@dataclass
class Transfer:
    """Load moving between workloads: migration (share, ramped, stays) or outage (all, closed by its process)."""

    kind: Literal["migration", "outage"]
    source: str
    target: str
    start_s: float
    share: float = 1.0
    ramp_s: float = 0.0
    end_s: float = math.inf

    def at(self, t_s: np.ndarray) -> np.ndarray:
        """Share of the source's load that moves at each time. [1]"""
        ramp = np.clip((t_s - self.start_s) / self.ramp_s, 0.0, 1.0) if self.ramp_s > 0 else 1.0
        return np.where((t_s >= self.start_s) & (t_s < self.end_s), self.share * ramp, 0.0)


@dataclass
class Schedule:
    """What the event processes have switched on so far; sources read it."""

    factors: list[Factor] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)


@dataclass
class Ledger:
    """Per workload and slice: tokens and the busiest window's tokens. [tokens]"""

    tokens: np.ndarray  # (W, T)
    peak_window_tokens: np.ndarray  # (W, T)


@dataclass(frozen=True)
class Grid:
    """Time grid: slices of whole peak windows, booked in chunks of whole slices."""

    slices: int
    slice_s: float
    window_s: float
    windows_per_slice: int
    slices_per_chunk: int

    @property
    def horizon_s(self) -> float:
        return self.slices * self.slice_s

    def chunks(self) -> list[tuple[int, int]]:
        """(first slice, end slice) of each chunk."""
        return [(a, min(a + self.slices_per_chunk, self.slices)) for a in range(0, self.slices, self.slices_per_chunk)]

    def window_midpoints_s(self, first_slice: int, end_slice: int) -> np.ndarray:
        first = first_slice * self.windows_per_slice
        end = end_slice * self.windows_per_slice
        return (np.arange(first, end) + 0.5) * self.window_s


class Intensity:
    """Profile intensities after events, per chunk, as the schedule stands when a source asks. [tokens/s]"""

    def __init__(self, profiles: dict[str, WorkloadTraffic], schedule: Schedule, grid: Grid):
        self.profiles = profiles
        self.schedule = schedule
        self.grid = grid
        self._key: tuple[int, int, int, int] | None = None
        self._value: dict[str, np.ndarray] = {}

    def tokens_per_s(self, workload: str, first_slice: int, end_slice: int) -> np.ndarray:
        key = (first_slice, end_slice, len(self.schedule.factors), len(self.schedule.transfers))
        if key != self._key:
            self._value = self._evaluate(first_slice, end_slice)
            self._key = key
        return self._value[workload]

    def _evaluate(self, first_slice: int, end_slice: int) -> dict[str, np.ndarray]:
        t = self.grid.window_midpoints_s(first_slice, end_slice)
        own = {name: profile_tokens_per_s(traffic, t) for name, traffic in self.profiles.items()}
        for factor in self.schedule.factors:
            own[factor.workload] = own[factor.workload] * factor.at(t)
        load = dict(own)
        for move in (m for m in self.schedule.transfers if m.kind == "migration"):
            moved = own[move.source] * move.at(t)
            load[move.source] = load[move.source] - moved
            load[move.target] = load[move.target] + moved
        for move in sorted((m for m in self.schedule.transfers if m.kind == "outage"), key=lambda m: m.start_s):
            moved = load[move.source] * move.at(t)
            load[move.source] = load[move.source] - moved
            load[move.target] = load[move.target] + moved
        return {name: np.maximum(x, 0.0) for name, x in load.items()}  # float guard: a full move leaves -0.0


# ---------------------------------------------------------------- sampling (numpy)


def _lognormal_tokens(traffic: WorkloadTraffic, n: int, rng: np.random.Generator) -> np.ndarray:
    """Counted tokens of ``n`` requests: lognormal input + output (or output only). [tokens]"""
    parts = (
        [traffic.output_tokens] if traffic.tokens_basis == "output" else [traffic.input_tokens, traffic.output_tokens]
    )
    total = np.zeros(n)
    for part in parts:
        assert part is not None
        total += rng.lognormal(part.mu, part.sigma, n)
    return total


def window_requests(expected: np.ndarray, burstiness: float, rng: np.random.Generator) -> np.ndarray:
    """Requests per window with mean ``expected`` and variance burstiness^2 x expected. [requests]"""
    counts = np.zeros(expected.shape, dtype=np.int64)
    live = expected > 0
    mu = expected[live]
    if burstiness == 1.0:
        counts[live] = rng.poisson(mu)
    elif burstiness > 1.0:
        c2 = burstiness**2
        counts[live] = rng.negative_binomial(mu / (c2 - 1.0), 1.0 / c2)
    else:
        trials = np.ceil(mu / (1.0 - burstiness**2)).astype(np.int64)
        counts[live] = rng.binomial(trials, mu / trials)
    return counts


def window_tokens(traffic: WorkloadTraffic, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Token sums of windows holding ``counts`` requests. [tokens per window]"""
    moments = traffic.tokens_per_request()
    assert moments is not None
    mean, variance = moments
    out = np.zeros(counts.shape)
    small = (counts > 0) & (counts < EXACT_SUM_BELOW)
    n_small = int(counts[small].sum())
    if n_small:
        owner = np.repeat(np.flatnonzero(small), counts[small])
        out += np.bincount(owner, weights=_lognormal_tokens(traffic, n_small, rng), minlength=counts.size)
    large = counts >= EXACT_SUM_BELOW
    n = counts[large].astype(float)
    if variance > 0:
        out[large] = rng.gamma(n * mean**2 / variance, variance / mean)
    else:  # fixed lengths (mean == median): the sum is exact
        out[large] = n * mean
    return out


@dataclass
class RenewalState:
    """Operational time (expected requests) still to go before the next arrival. [requests]"""

    to_next: float


def renewal_start(burstiness: float, rng: np.random.Generator) -> RenewalState:
    """Stationary start: the first gap is a length-biased Gamma interval times a uniform."""
    shape = 1.0 / burstiness**2
    return RenewalState(float(rng.gamma(shape + 1.0, 1.0 / shape) * rng.random()))


def renewal_arrivals(
    expected: np.ndarray, burstiness: float, state: RenewalState, rng: np.random.Generator
) -> np.ndarray:
    """Window index of every arrival of a Gamma renewal process with ``expected`` requests per window.

    Inter-arrival times are Gamma(1/b^2, b^2) in operational time (mean 1, CV b), mapped
    back to windows through the cumulative intensity. ``state`` carries over between calls.
    """
    edges = np.concatenate(([0.0], np.cumsum(expected)))
    total = float(edges[-1])
    shape = 1.0 / burstiness**2
    positions: list[np.ndarray] = []
    at = state.to_next  # operational time of the next arrival
    while at < total:
        remaining = total - at
        batch = int(remaining + 6.0 * burstiness * math.sqrt(remaining + 1.0) + 16)
        points = at + np.concatenate(([0.0], np.cumsum(rng.gamma(shape, 1.0 / shape, batch - 1))))
        inside = points < total
        positions.append(points[inside])
        at = float(points[-1] + rng.gamma(shape, 1.0 / shape)) if inside.all() else float(points[~inside][0])
    state.to_next = at - total
    if not positions:
        return np.zeros(0, dtype=np.int64)
    arrivals = np.concatenate(positions)
    return np.searchsorted(edges, arrivals, side="right").astype(np.int64) - 1


# ---------------------------------------------------------------- SimPy processes


def event_process(
    env: simpy.Environment, workload: str, event: Event, schedule: Schedule, log: list[LogEntry]
) -> Generator[simpy.Event, Any, None]:
    """Switch an event on at its day (and off again after ``hours`` for spikes and outages)."""
    start_s = event.day * SECONDS_PER_DAY
    yield env.timeout(start_s)
    ramp_s = event.ramp_days * SECONDS_PER_DAY
    if event.kind == "launch":
        assert event.multiplier is not None
        schedule.factors.append(Factor(workload, start_s, event.multiplier, ramp_s))
        log.append(LogEntry(env.now, workload, f"launch x{event.multiplier:g} starts"))
        if ramp_s > 0:
            yield env.timeout(ramp_s)
            log.append(LogEntry(env.now, workload, f"launch x{event.multiplier:g} fully ramped"))
    elif event.kind == "migration":
        assert event.source is not None and event.share is not None
        schedule.transfers.append(Transfer("migration", event.source, workload, start_s, event.share, ramp_s))
        log.append(LogEntry(env.now, workload, f"migration of {event.share:g} of {event.source} starts"))
        if ramp_s > 0:
            yield env.timeout(ramp_s)
            log.append(LogEntry(env.now, workload, f"migration of {event.share:g} of {event.source} complete"))
    else:
        assert event.hours is not None
        step: Factor | Transfer
        if event.kind == "spike":
            assert event.multiplier is not None
            step = Factor(workload, start_s, event.multiplier)
            schedule.factors.append(step)
            what = f"spike x{event.multiplier:g}"
        else:
            assert event.to is not None
            step = Transfer("outage", workload, event.to, start_s)
            schedule.transfers.append(step)
            what = f"outage: load moves to {event.to}"
        log.append(LogEntry(env.now, workload, f"{what} starts"))
        yield env.timeout(event.hours * SECONDS_PER_HOUR)
        step.end_s = env.now
        log.append(LogEntry(env.now, workload, f"{what} ends"))


def _book(ledger: Ledger, row: int, grid: Grid, first: int, end: int, tokens: np.ndarray) -> None:
    per_slice = tokens.reshape(end - first, grid.windows_per_slice)
    ledger.tokens[row, first:end] = per_slice.sum(axis=1)
    ledger.peak_window_tokens[row, first:end] = per_slice.max(axis=1)


def profile_source(
    env: simpy.Environment,
    name: str,
    row: int,
    traffic: WorkloadTraffic,
    grid: Grid,
    intensity: Intensity,
    ledger: Ledger,
    log: list[LogEntry],
    request_level: bool,
    rng: np.random.Generator,
) -> Generator[simpy.Event, Any, None]:
    """A generated workload: at the end of each chunk, draw its traffic under the schedule as it stands."""
    moments = traffic.tokens_per_request()
    state = renewal_start(traffic.burstiness, rng) if moments is not None and request_level else None
    for first, end in grid.chunks():
        yield env.timeout((end - first) * grid.slice_s)
        rate = intensity.tokens_per_s(name, first, end)
        if moments is None:
            tokens = rate * grid.window_s
        elif state is not None:
            arrivals = renewal_arrivals(rate * grid.window_s / moments[0], traffic.burstiness, state, rng)
            tokens = np.bincount(arrivals, weights=_lognormal_tokens(traffic, arrivals.size, rng), minlength=rate.size)
        else:
            counts = window_requests(rate * grid.window_s / moments[0], traffic.burstiness, rng)
            tokens = window_tokens(traffic, counts, rng)
        _book(ledger, row, grid, first, end, tokens)
        log.append(LogEntry(env.now, name, f"booked slices {first}-{end - 1}"))


def replay_source(
    env: simpy.Environment,
    name: str,
    row: int,
    trace: Trace,
    traffic: WorkloadTraffic,
    period_s: float,
    grid: Grid,
    ledger: Ledger,
    log: list[LogEntry],
    rng: np.random.Generator,
) -> Generator[simpy.Event, Any, None]:
    """A replayed trace, tiled with its period; copies for ``scale`` are placed at the start."""
    period = replay_period_tokens(
        trace, period_s=period_s, window_s=grid.window_s, scale=traffic.scale, basis=traffic.tokens_basis, rng=rng
    )
    log.append(
        LogEntry(env.now, name, f"replay of {trace.requests} requests, period {period_s:g} s, scale {traffic.scale:g}")
    )
    for first, end in grid.chunks():
        yield env.timeout((end - first) * grid.slice_s)
        index = np.arange(first * grid.windows_per_slice, end * grid.windows_per_slice) % period.size
        _book(ledger, row, grid, first, end, period[index])
        log.append(LogEntry(env.now, name, f"booked slices {first}-{end - 1}"))


# ---------------------------------------------------------------- running it


@dataclass(frozen=True)
class DemandRun:
    """Everything one simulation produced: the curve and what it was computed from."""

    curve: LoadCurve
    tokens: np.ndarray  # (R, W, T) tokens per replica, workload and slice [tokens]
    peak_window_tokens: np.ndarray  # (R, W, T) tokens in each slice's busiest window [tokens]
    log: tuple[LogEntry, ...]  # the first replica's event log
    detail: dict[str, str]  # workload -> request | window | smooth | replay
    window_s: float
    sizing: str  # p50 | p95 | p99 | mean | single

    @property
    def total_tokens(self) -> np.ndarray:
        """Tokens per workload over the horizon, mean over replicas. [tokens]"""
        return self.tokens.sum(axis=2).mean(axis=0)


def _grid(spec: GeneratedDemand, traces: dict[str, tuple[Trace, float]]) -> Grid:
    slice_s = spec.slice_minutes * 60.0
    fix = "shorten demand.horizon_days or lengthen demand.slice_minutes"
    if spec.horizon_days is not None:
        horizon_s = spec.horizon_days * SECONDS_PER_DAY
    elif traces and len(traces) == len(spec.workloads):
        longest, (trace, horizon_s) = max(traces.items(), key=lambda item: item[1][1])
        # the horizon is the longest trace's: name it, with its last arrival
        fix = (
            f"the horizon is the trace {trace.path} of workloads.{longest} (last arrival at "
            f"{trace.last_arrival_s:,.6g} s): fix or cut its arrived_at column, set demand.horizon_days, "
            "or lengthen demand.slice_minutes"
        )
    else:
        horizon_s = DEFAULT_HORIZON_DAYS * SECONDS_PER_DAY
    slices = max(1, round(horizon_s / slice_s))
    check_count(
        slices,
        MAX_SLICES,
        f"demand: slices ({horizon_s / SECONDS_PER_DAY:,.6g} days of {spec.slice_minutes:g}-minute slices)",
        fix,
    )
    return Grid(
        slices=slices,
        slice_s=slice_s,
        window_s=spec.peak_resolution_s,
        windows_per_slice=round(slice_s / spec.peak_resolution_s),
        slices_per_chunk=max(1, math.floor(SECONDS_PER_DAY / slice_s)),
    )


def _read_traces(spec: GeneratedDemand, base_dir: Path, source: str) -> dict[str, tuple[Trace, float]]:
    out: dict[str, tuple[Trace, float]] = {}
    slice_s = spec.slice_minutes * 60.0
    for name, traffic in spec.workloads.items():
        if traffic.trace is None:
            continue
        path = Path(traffic.trace).expanduser()
        path = path if path.is_absolute() else base_dir / path
        try:
            trace = read_trace(path)
            out[name] = (trace, trace_period_s(trace, slice_s, traffic.trace_period_hours))
        except ScenarioError as exc:
            raise ScenarioError(f"{source}: demand.workloads.{name}.trace: {exc.summary}", exc.problems) from None
    return out


def run_demand(
    spec: GeneratedDemand,
    base_dir: Path,
    *,
    seed: int | None = None,
    replicas: int | None = None,
    sizing_quantile: SizingQuantile | None = None,
    source: str = "demand",
) -> DemandRun:
    """Simulate a generated demand section; ``seed`` and ``replicas`` override the section's.

    ``sizing_quantile`` picks the band of the peaks capacity is sized on (default p95 with
    replicas, the single sample without); it never falls below the slice's mean.
    ``source`` names the file in messages; trace paths resolve against ``base_dir``.
    """
    if not spec.workloads:
        raise ScenarioError(f"{source}: demand.workloads is empty; give at least one workload")
    seed = spec.seed if seed is None else seed
    replicas = spec.replicas if replicas is None else replicas
    if seed < 0 or replicas < 1:
        raise ScenarioError(f"{source}: seed must be >= 0 and replicas >= 1 (got seed {seed}, replicas {replicas})")
    traces = _read_traces(spec, Path(base_dir), source)
    grid = _grid(spec, traces)
    check_count(
        replicas * len(spec.workloads) * grid.slices * grid.windows_per_slice,
        MAX_DEMAND_WINDOWS,
        f"{source}: peak windows to draw ({replicas:,} replicas x {len(spec.workloads)} workloads x "
        f"{grid.slices:,} slices x {grid.windows_per_slice:,} windows of {grid.window_s:g} s)",
        "use fewer replicas, a shorter horizon or a longer peak_resolution_s",
    )
    for name, (trace, period_s) in traces.items():
        tiles = math.ceil(grid.slices * grid.slice_s / period_s)
        check_count(
            replicas * trace.requests * spec.workloads[name].scale * tiles,
            MAX_TRACE_REQUESTS,
            f"{source}: demand.workloads.{name}: requests replayed ({replicas:,} replicas x "
            f"{trace.requests:,} rows x scale {spec.workloads[name].scale:g} x {tiles:,} tiles)",
            "lower scale, replicas or the horizon",
        )
    names = list(spec.workloads)
    profiles = {n: t for n, t in spec.workloads.items() if t.trace is None}
    detail: dict[str, str] = {}
    for name, traffic in spec.workloads.items():
        moments = traffic.tokens_per_request()
        if traffic.trace is not None:
            detail[name] = "replay"
        elif moments is None:
            detail[name] = "smooth"
        else:
            expected = _expected_requests(name, profiles, grid, moments[0])
            detail[name] = "request" if expected <= spec.request_level_limit else "window"

    shape = (replicas, len(names), grid.slices)
    tokens = np.zeros(shape)
    peaks = np.zeros(shape)
    first_log: list[LogEntry] = []
    seqs = np.random.SeedSequence(seed).spawn(replicas)
    for r, replica_seq in enumerate(progress.track(seqs, "demand: Monte Carlo replicas")):
        rngs = [np.random.default_rng(s) for s in replica_seq.spawn(len(names))]
        ledger = Ledger(tokens[r], peaks[r])
        log = _simulate_once(spec, names, profiles, traces, grid, detail, ledger, rngs)
        if r == 0:
            first_log = log

    mean = tokens.mean(axis=0) / grid.slice_s
    window_peaks = peaks / grid.window_s
    bands: dict[str, np.ndarray] = {}
    if replicas > 1:
        quantiles = np.quantile(window_peaks, [0.5, 0.95, 0.99], axis=0)
        bands = {b: quantiles[i] for i, b in enumerate(BANDS)}
        sizing = sizing_quantile or "p95"
        chosen = window_peaks.mean(axis=0) if sizing == "mean" else bands[sizing]
    else:
        sizing = "single"
        chosen = window_peaks[0]
    curve = LoadCurve(
        workloads=tuple(names),
        start_hours=np.arange(grid.slices) * grid.slice_s / SECONDS_PER_HOUR,
        slice_hours=np.full(grid.slices, grid.slice_s / SECONDS_PER_HOUR),
        mean=mean,
        peak=np.maximum(chosen, mean),
        bands=bands,
        seed=seed,
    )
    return DemandRun(curve, tokens, peaks, tuple(first_log), detail, grid.window_s, sizing)


def _expected_requests(name: str, profiles: dict[str, WorkloadTraffic], grid: Grid, tokens_per_request: float) -> float:
    """Requests a profile expects over the horizon, an upper estimate (largest event multiplier). [requests]"""
    n = min(20_000, max(1, math.ceil(grid.horizon_s / 60.0)))
    t = (np.arange(n) + 0.5) * grid.horizon_s / n
    traffic = profiles[name]
    rate = float(profile_tokens_per_s(traffic, t).mean())
    for event in traffic.events:
        if event.kind in ("launch", "spike") and event.multiplier is not None:
            rate *= max(1.0, event.multiplier)
        elif event.kind == "migration" and event.source is not None and event.share is not None:
            rate += event.share * float(profile_tokens_per_s(profiles[event.source], t).mean())
    return rate * grid.horizon_s / tokens_per_request


def _simulate_once(
    spec: GeneratedDemand,
    names: list[str],
    profiles: dict[str, WorkloadTraffic],
    traces: dict[str, tuple[Trace, float]],
    grid: Grid,
    detail: dict[str, str],
    ledger: Ledger,
    rngs: list[np.random.Generator],
) -> list[LogEntry]:
    env = simpy.Environment()
    schedule = Schedule()
    log: list[LogEntry] = []
    intensity = Intensity(profiles, schedule, grid)
    for name, traffic in spec.workloads.items():
        for event in sorted(traffic.events, key=lambda e: e.day):
            env.process(event_process(env, name, event, schedule, log))
    for row, name in enumerate(names):
        traffic = spec.workloads[name]
        if name in traces:
            trace, period_s = traces[name]
            env.process(replay_source(env, name, row, trace, traffic, period_s, grid, ledger, log, rngs[row]))
        else:
            env.process(
                profile_source(
                    env, name, row, traffic, grid, intensity, ledger, log, detail[name] == "request", rngs[row]
                )
            )
    env.run(until=grid.horizon_s + 1.0)  # past the last chunk's wake-up; later events never start
    return log


def simulate_demand(
    spec: GeneratedDemand,
    base_dir: Path,
    *,
    seed: int | None = None,
    replicas: int | None = None,
    sizing_quantile: SizingQuantile | None = None,
    source: str = "demand",
) -> LoadCurve:
    """The LoadCurve of a generated demand section (see ``run_demand``)."""
    return run_demand(
        spec, base_dir, seed=seed, replicas=replicas, sizing_quantile=sizing_quantile, source=source
    ).curve


def simulate_scenario_demand(sf: ScenarioFile) -> LoadCurve:
    """The LoadCurve of a scenario file's generated demand section (traces resolve against its folder)."""
    return run_scenario_demand(sf).curve


def run_scenario_demand(sf: ScenarioFile, *, seed: int | None = None, replicas: int | None = None) -> DemandRun:
    """``run_demand`` on a ScenarioFile, with its sizing_quantile, its folder and its path in messages."""
    demand = sf.scenario.demand
    return run_demand(
        demand,
        sf.base_dir,
        seed=seed,
        replicas=replicas,
        sizing_quantile=getattr(demand, "sizing_quantile", None),
        source=str(sf.path),
    )
