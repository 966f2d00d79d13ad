"""Requests for the validation simulator: how long they are, how fast they stream, when they arrive.

A load curve holds tokens/s; the simulator needs requests. Per workload this module
decides (``RequestProfile``):

* **Tokens per request** (total: input + output). With generated demand whose workload
  sets ``input_tokens`` / ``output_tokens`` (``TokenLengths``, mean and median), each
  request draws both lengths from those lognormals. Otherwise, for a workload mapped to a
  catalog workload, every request has the catalog's nominal ``input_tokens +
  output_tokens`` (a fixed length: the scenario gives no spread, and none is invented).
  A workload with neither gets ``DEFAULT_TOKENS_PER_REQUEST`` tokens, all counted as output.
* **Per-request token rate**: the workload's interactivity target (output tok/s per user).
  A request holds one batch slot for ``output_tokens / interactivity`` seconds, so while it
  is served it streams ``interactivity x total/output`` total tokens/s (see pools.py for
  how a GPU's throughput becomes slots).
* **Arrivals**: requests/s = tokens/s / mean tokens per request; inter-arrival times are
  exponential (Poisson, burstiness 1) or Gamma with the given coefficient of variation
  (burstiness > 1: bursty; < 1: smoother than Poisson). ``burstiness`` comes from generated
  demand's ``WorkloadTraffic.burstiness`` or a command-line option.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.catalog.load import Catalog, scenario_catalog
from planner.demand.spec import TokenLengths
from planner.scenario.load import ScenarioFile

DEFAULT_TOKENS_PER_REQUEST = 1000.0  # workloads without a catalog shape or a length distribution [tokens]


@dataclass(frozen=True)
class RequestProfile:
    """What one request of a workload looks like."""

    workload: str
    mean_tokens: float  # total tokens per request, mean [tokens]
    output_share: float  # output tokens / total tokens (of the means) [1]
    interactivity: float | None  # target output tok/s per user; None: a request holds a whole GPU [tok/s/user]
    input_lengths: TokenLengths | None = None  # lognormal input length; None: fixed
    output_lengths: TokenLengths | None = None  # lognormal output length; None: fixed
    length_kind: str = "fixed"  # fixed | lognormal | exponential (exponential: theory checks only)
    burstiness: float = 1.0  # CV of inter-arrival times [1]

    @property
    def slot_tokens_per_s(self) -> float | None:
        """Total tokens/s one request streams at the target interactivity. [tokens/s]"""
        if self.interactivity is None:
            return None
        return self.interactivity / self.output_share

    def requests_per_s(self, tokens_per_s: float) -> float:
        """Request rate carrying this token rate. [requests/s]"""
        return tokens_per_s / self.mean_tokens


def draw_interarrivals(n: int, rate_per_s: float, rng: np.random.Generator, burstiness: float = 1.0) -> np.ndarray:
    """``n`` inter-arrival times with mean 1/rate and coefficient of variation ``burstiness``. [s]

    burstiness 1: exponential (Poisson process); otherwise Gamma with shape 1/CV^2.
    """
    if rate_per_s <= 0:
        raise ValueError(f"rate_per_s must be positive, got {rate_per_s}")
    if burstiness == 1.0:
        return rng.exponential(1.0 / rate_per_s, n)
    shape = 1.0 / burstiness**2
    return rng.gamma(shape, 1.0 / (rate_per_s * shape), n)


def draw_arrivals(
    rate_per_s: float, duration_s: float, rng: np.random.Generator, burstiness: float = 1.0
) -> np.ndarray:
    """Arrival times in [0, duration_s), sorted. [s]"""
    if rate_per_s <= 0 or duration_s <= 0:
        return np.zeros(0)
    expected = rate_per_s * duration_s
    chunk = int(expected + 6.0 * math.sqrt(expected) * max(burstiness, 1.0) + 16)
    times = np.cumsum(draw_interarrivals(chunk, rate_per_s, rng, burstiness))
    parts = [times]
    while parts[-1][-1] < duration_s:
        more = parts[-1][-1] + np.cumsum(draw_interarrivals(chunk, rate_per_s, rng, burstiness))
        parts.append(more)
    times = np.concatenate(parts) if len(parts) > 1 else times
    return times[times < duration_s]


def draw_lengths(profile: RequestProfile, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(total tokens, output tokens) of ``n`` requests. [tokens]"""
    if profile.length_kind == "exponential":
        total = rng.exponential(profile.mean_tokens, n)
        return total, total * profile.output_share
    if profile.input_lengths is not None or profile.output_lengths is not None:
        mean_out = profile.mean_tokens * profile.output_share
        mean_in = profile.mean_tokens - mean_out
        inp = _lognormal(profile.input_lengths, n, rng) if profile.input_lengths else np.full(n, mean_in)
        out = _lognormal(profile.output_lengths, n, rng) if profile.output_lengths else np.full(n, mean_out)
        return inp + out, out
    total = np.full(n, profile.mean_tokens)
    return total, total * profile.output_share


def _lognormal(lengths: TokenLengths, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.lognormal(lengths.mu, lengths.sigma, n)


def request_profiles(
    sf: ScenarioFile,
    workloads: tuple[str, ...],
    *,
    burstiness: float | None = None,
    catalog: Catalog | None = None,
) -> dict[str, RequestProfile]:
    """A RequestProfile per load-curve workload, from the scenario and the catalog (see module doc)."""
    scn = sf.scenario
    catalog = catalog or scenario_catalog(sf)
    generated = scn.demand.workloads
    out: dict[str, RequestProfile] = {}
    for w in workloads:
        entry = scn.workloads.get(w)
        cat_id = (entry.catalog if entry and entry.catalog else None) or (w if w in catalog.workloads else None)
        cat = catalog.workloads.get(cat_id) if cat_id else None
        interactivity = None
        if entry and entry.interactivity:
            interactivity = float(entry.interactivity)
        elif cat is not None:
            interactivity = float(cat.default_interactivity.value)
        traffic = generated.get(w)
        bursty = burstiness if burstiness is not None else (traffic.burstiness if traffic else 1.0)
        mean_in = float(cat.input_tokens) if cat else 0.0
        mean_out = float(cat.output_tokens) if cat else DEFAULT_TOKENS_PER_REQUEST
        in_len = out_len = None
        if traffic and (traffic.input_tokens or traffic.output_tokens):
            in_len, out_len = traffic.input_tokens, traffic.output_tokens
            if in_len is not None:
                mean_in = in_len.mean
            if out_len is not None:
                mean_out = out_len.mean
            if traffic.tokens_basis == "output" and in_len is not None:
                mean_in, in_len = 0.0, None  # only output tokens are counted in the curve
        total = mean_in + mean_out
        out[w] = RequestProfile(
            workload=w,
            mean_tokens=total,
            output_share=mean_out / total,
            interactivity=interactivity,
            input_lengths=in_len,
            output_lengths=out_len,
            length_kind="lognormal" if (in_len or out_len) else "fixed",
            burstiness=float(bursty),
        )
    return out


def service_cv2(profile: RequestProfile) -> float:
    """Squared coefficient of variation of holding times. [1]

    A request holds its slot for its total (input + output) tokens / the slot's token rate
    (pools.py), so this is the CV^2 of the total tokens drawn by ``draw_lengths``: input and
    output lognormals independent, a fixed length 0, exponential 1.
    """
    if profile.length_kind == "exponential":
        return 1.0
    if profile.input_lengths is None and profile.output_lengths is None:
        return 0.0
    mean_out = profile.mean_tokens * profile.output_share
    mean_in = profile.mean_tokens - mean_out
    var = 0.0
    for lengths, mean in ((profile.input_lengths, mean_in), (profile.output_lengths, mean_out)):
        if lengths is not None:
            var += (math.exp(lengths.sigma**2) - 1.0) * mean**2
    return var / profile.mean_tokens**2
