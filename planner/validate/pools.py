"""GPU pools as queues of batch slots, and how a plan's fleet splits into pools.

**Slots.** A GPU serving a workload at its service level delivers ``theta`` total tokens/s
(catalog throughput at the interactivity target) spread over the requests it batches; each
request streams at ``interactivity / output_share`` total tokens/s. So a GPU holds
``theta * output_share / interactivity`` concurrent requests ("slots"). A failure domain of
``g`` GPUs holds ``k = floor(g * slots_per_gpu)`` slots (at least 1), each streaming at
``theta * g / k`` tokens/s, which keeps the domain's throughput exactly ``theta * g`` and
each request's rate at or above the target (below it only when even one request per domain
is too many: then the pool misses the token-rate target and says so). A request of ``n``
total tokens holds a slot for ``n / slot_rate`` seconds. A workload without an
interactivity target (no catalog mapping) gets one slot per GPU at ``theta``.

**Pools.** In each simulated slice a SKU's failure domains are split among the workloads
it serves in proportion to the plan's busy GPUs there (largest remainder), idle domains
pro rata; a pool is one SKU x workload. A pool is FIFO, without priorities.

**SimPool** runs one pool in SimPy: requests start when a slot is up and free, else wait;
a request waiting longer than the patience leaves unserved (found when it reaches the head
of the queue); a failure domain going down interrupts the requests on it (how many:
hypergeometric over busy and free slots; which: uniform among those in service), and they
restart from scratch at the head of the queue.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from planner.validate.arrivals import RequestProfile
from planner.validate.events import CalendarQueue, SequencedEnvironment, Wake


@dataclass(frozen=True)
class SlotModel:
    """How one SKU serves one workload, per failure domain."""

    slots_per_domain: int  # concurrent requests per failure domain [requests]
    slot_tokens_per_s: float  # total tokens/s streamed per busy slot [tokens/s]
    user_output_tokens_per_s: float  # output tokens/s a user sees [tok/s/user]
    meets_interactivity: bool  # user_output_tokens_per_s >= the target


def slot_model(theta_tokens_per_s: float, gpus_per_domain: int, profile: RequestProfile) -> SlotModel:
    """Slots of one failure domain (see module doc)."""
    domain_rate = theta_tokens_per_s * gpus_per_domain
    slot_rate = profile.slot_tokens_per_s
    if slot_rate is None:
        k = gpus_per_domain
        per_slot = domain_rate / k
        return SlotModel(k, per_slot, per_slot * profile.output_share, True)
    k = max(1, math.floor(domain_rate / slot_rate * (1 + 1e-12)))
    per_slot = domain_rate / k
    user = per_slot * profile.output_share
    return SlotModel(k, per_slot, user, user >= profile.interactivity * (1 - 1e-9))


@dataclass(frozen=True)
class PoolSpec:
    """One SKU x workload pool in one slice: a contiguous range of the SKU's failure domains."""

    sku_index: int
    sku: str
    workload_index: int
    workload: str
    first_domain: int
    domains: int
    gpus_per_domain: int
    slots: SlotModel

    @property
    def gpus(self) -> int:
        return self.domains * self.gpus_per_domain

    @property
    def slots_total(self) -> int:
        return self.domains * self.slots.slots_per_domain


def split_domains(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer split of ``total`` domains in proportion to ``weights`` (largest remainder; ties by order)."""
    weights = np.asarray(weights, dtype=float)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=int)
    exact = total * weights / weights.sum()
    base = np.floor(exact).astype(int)
    rest = total - int(base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:rest]] += 1
    return base


class SimPool:
    """A FIFO pool of slots, driven by a SimPy environment. Times in seconds.

    ``book`` is the simulation's shared request book (lists indexed by request id).
    ``equal_holds``: every request this pool can serve holds a slot equally long (one
    length per request of the workload), so requests end in the order they start: their
    ends wait in one FIFO queue with only the head in SimPy's heap (planner.validate.events);
    otherwise each end is its own event. Either way every end is one SimPy event at the time
    and in the order one timeout per start would give.
    """

    def __init__(
        self,
        env: SequencedEnvironment,
        index: int,
        spec: PoolSpec,
        domains_up: int,
        book,
        rng,
        patience_s: float,
        *,
        equal_holds: bool = False,
        mean_hold_s: float = 1.0,
    ):
        self.env = env
        self.index = index
        self.spec = spec
        self.per_domain = spec.slots.slots_per_domain
        self.capacity = domains_up * self.per_domain
        self.busy = 0
        self.queue: deque[int] = deque()
        self.serving: dict[int, int] = {}  # request id -> generation of its current start
        self.book = book
        self.rng = rng
        self.patience_s = patience_s
        self.rate = spec.slots.slot_tokens_per_s
        self.busy_slot_s = 0.0  # integral of busy slots over time, set by close() [slot-s]
        self.up_slot_s = 0.0  # integral of available slots over time [slot-s]
        self.max_queue = 0
        self._last = env.now
        # the busy integral without a clock read per event: each slot taken at t adds -t, each freed +t,
        # and close() adds now for each still busy (sum over intervals of end - start)
        self._busy_s = 0.0
        self.equal_holds = equal_holds
        # ends of service due, (time [s], sequence, request, generation), in (time, sequence) order
        self._ends: deque[tuple[float, int, int, int]] = deque()  # equal holds: start order is end order
        self._end_wake = Wake(env, self._end_head)
        self._armed = False  # equal holds: the head of _ends is in SimPy's heap
        # holds that differ: a calendar of about 32 ends per bucket when every slot is busy
        width = mean_hold_s * 32 / max(spec.slots_total, 1)
        self._calendar = CalendarQueue(width if width > 0 else 1.0)
        self._pending: set[int] = set()  # sequences of the calendar's entries in SimPy's heap
        self._spare: list[Wake] = []  # wake-ups that fired, for reuse

    # ---- time integrals -------------------------------------------------------
    def _advance(self) -> None:
        """Bring the available-slot integral up to now (before the capacity changes)."""
        now = self.env.now
        dt = now - self._last
        if dt > 0:
            self.up_slot_s += self.capacity * dt
            self._last = now

    def load(self) -> float:
        """(busy + queued) / available slots; inf when no slot is up."""
        return (self.busy + len(self.queue)) / self.capacity if self.capacity > 0 else math.inf

    # ---- requests ---------------------------------------------------------------
    def submit(self, i: int) -> None:
        self.book.pool[i] = self.index
        if self.busy < self.capacity and not self.queue:
            self._start(i)
        else:
            self.queue.append(i)
            if len(self.queue) > self.max_queue:
                self.max_queue = len(self.queue)

    def start_prefilled(self, i: int) -> None:
        """A request already in service when the window opens; the caller schedules its end
        (one merged stream of prefilled completions keeps SimPy's event heap small)."""
        self.book.pool[i] = self.index
        self.busy += 1
        self._busy_s -= self.env.now
        self.serving[i] = self.book.restarts[i]

    def finish_prefilled(self, i: int) -> None:
        self._finish(i, 0)

    def _start(self, i: int) -> None:
        book = self.book
        env = self.env
        now = env.now
        self.busy += 1
        self._busy_s -= now
        start = book.start
        if start[i] != start[i]:  # NaN: its first start
            start[i] = now
        gen = book.restarts[i]
        self.serving[i] = gen
        at = now + book.tokens[i] / self.rate  # a Timeout's time: now + holding time
        sequence = env.draw()
        if self.equal_holds:
            self._ends.append((at, sequence, i, gen))
            if not self._armed:
                self._armed = True
                env.arm(self._end_wake, at, sequence)
        else:
            entry = (at, sequence, i, gen)
            calendar = self._calendar
            calendar.push(entry)
            if calendar.head() is entry:  # the earliest end now: SimPy must wake for it
                self._arm(entry)

    def _end_head(self, _event) -> None:
        """The head of the FIFO of ends is due: end it, then arm the next head."""
        ends = self._ends
        _, _, i, gen = ends.popleft()
        self._finish(i, gen)
        if ends:
            at, sequence, _, _ = ends[0]
            self.env.arm(self._end_wake, at, sequence)
        else:
            self._armed = False

    def _arm(self, entry: tuple[float, int, int, int]) -> None:
        wake = self._spare.pop() if self._spare else Wake(self.env, self._end_earliest)
        self._pending.add(entry[1])
        self.env.arm(wake, entry[0], entry[1])

    def _end_earliest(self, wake: Wake) -> None:
        """The calendar's earliest end is due (the one this wake-up was armed for: every earlier
        one was the earliest once, and armed then): end it, then make sure SimPy wakes for the next."""
        calendar = self._calendar
        _, sequence, i, gen = calendar.pop()
        self._pending.remove(sequence)
        self._spare.append(wake)
        self._finish(i, gen)
        head = calendar.head()
        if head is not None and head[1] not in self._pending:
            self._arm(head)

    def _finish(self, i: int, gen: int) -> None:
        serving = self.serving
        if serving.get(i) != gen:
            return  # interrupted by a failure; restarted or dropped since
        del serving[i]
        now = self.env.now
        self.busy -= 1
        self._busy_s += now
        self.book.finish[i] = now
        if self.queue:
            self._pull()

    def _pull(self) -> None:
        book = self.book
        now = self.env.now
        while self.queue and self.busy < self.capacity:
            i = self.queue.popleft()
            if now - book.arrival[i] > self.patience_s:
                book.dropped[i] = True
                continue
            self._start(i)

    # ---- failures ----------------------------------------------------------------
    def domain_down(self) -> None:
        self._advance()
        k = self.per_domain
        free = self.capacity - self.busy
        hit = int(self.rng.hypergeometric(self.busy, free, k)) if self.busy > 0 else 0
        self.capacity -= k
        if hit:
            ids = list(self.serving)
            chosen = self.rng.choice(len(ids), size=hit, replace=False)
            for j in sorted(chosen.tolist(), reverse=True):
                i = ids[j]
                del self.serving[i]
                self.book.interrupted[i] = True
                self.book.restarts[i] += 1
                self.queue.appendleft(i)
            self.busy -= hit
            self._busy_s += hit * self.env.now
        assert self.busy <= self.capacity

    def domain_up(self) -> None:
        self._advance()
        self.capacity += self.per_domain
        self._pull()

    def close(self) -> None:
        """End of the run: requests still queued are unserved."""
        self._advance()
        self.busy_slot_s = self._busy_s + self.busy * self.env.now
        for i in self.queue:
            self.book.dropped[i] = True
        self.queue.clear()
