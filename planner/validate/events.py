"""SimPy events of the window simulation: a few reusable event streams, ordered as one timeout each.

SimPy processes events by the heap key (time, priority, event id): simultaneous events of
one priority in the order they were scheduled. The window simulation decides an event (a
request's end of service, the next arrival) at one moment, and with one ``simpy.Timeout``
per decision SimPy's heap would hold every request in service (a few hundred thousand
entries in a peak window). Instead a pool whose requests all hold a slot equally long
keeps its ends of service in a FIFO queue (they end in the order they started) and puts
only the head in SimPy's heap, as one reused event (:class:`Wake`), re-armed each time it
fires; arrivals and the prefilled requests' ends are such chains already.

Such an event enters the heap later than the moment it was decided. So that ties resolve
exactly as if every decision had been its own timeout, each decision draws a sequence
number at that moment (:meth:`SequencedEnvironment.draw`) and the event uses it as its
SimPy priority: the heap key becomes (time, sequence), the order of (time, NORMAL, id)
for timeouts scheduled one by one. An event's time is the one a timeout would have had
(``now + delay`` computed when decided), stored and armed as it is.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable
from heapq import heappop, heappush
from itertools import count

import simpy

URGENT = 0  # SimPy's priority of a process's first step: before any sequenced event at that time
# sequence numbers start above it, so a sequenced event follows an urgent one at the same time
FIRST_SEQUENCE = 1


class Wake(simpy.Event):
    """An event that is triggered (ok, no value) and calls one function when processed.

    Reusable: SimPy clears ``callbacks`` when it processes an event, and
    :meth:`SequencedEnvironment.arm` / :meth:`SequencedEnvironment.arm_in` set them again,
    so one object serves a whole chain of wake-ups (one pending at a time).
    """

    def __init__(self, env: simpy.Environment, callback: Callable[[simpy.Event], None]):
        # what Timeout.__init__ sets, without scheduling
        self.env = env
        self._value = None
        self._ok = True
        self.callbacks = None
        self.fire = (callback,)


class SequencedEnvironment(simpy.Environment):
    """A SimPy environment whose window events carry their decision's sequence number (module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self.draw = count(FIRST_SEQUENCE).__next__  # the next sequence number

    def arm(self, wake: Wake, at: float, sequence: int) -> None:
        """Schedule ``wake`` at the absolute time ``at`` [s] (>= now), decided as ``sequence``."""
        wake.callbacks = wake.fire
        heappush(self._queue, (at, sequence, next(self._eid), wake))

    def arm_in(self, wake: Wake, delay: float, sequence: int) -> None:
        """Schedule ``wake`` ``delay`` seconds from now (time ``now + delay``, as a Timeout), decided as ``sequence``."""
        wake.callbacks = wake.fire
        heappush(self._queue, (self._now + delay, sequence, next(self._eid), wake))


class CalendarQueue:
    """Entries ``(time, sequence, ...)`` popped in (time, sequence) order: a calendar queue.

    For a pool whose holding times differ (ends of service out of start order). Entries go
    into buckets of ``width_s`` seconds, unsorted; a bucket is sorted when it becomes the
    earliest, then read in order. Against one heap of every request in service this sorts a
    few dozen entries at a time (``width_s`` sets how many, not the order).
    """

    def __init__(self, width_s: float):
        if not width_s > 0:
            raise ValueError(f"width_s must be positive, got {width_s}")
        self.width_s = width_s
        self._buckets: dict[int, list[tuple]] = {}  # later buckets, unsorted
        self._keys: list[int] = []  # heap of the keys of _buckets, all > _key
        self._current: list[tuple] = []  # the earliest bucket, sorted; read from _pos
        self._key: int | None = None  # its key; None: no bucket open
        self._pos = 0

    def __len__(self) -> int:
        return len(self._current) - self._pos + sum(len(b) for b in self._buckets.values())

    def push(self, entry: tuple) -> None:
        k = int(entry[0] / self.width_s)
        if self._key is not None:
            if k == self._key:
                insort(self._current, entry, lo=self._pos)
                return
            if k < self._key:  # earlier than the open bucket: close it (its rest stays sorted)
                rest = self._current[self._pos :]
                if rest:
                    self._buckets[self._key] = rest
                    heappush(self._keys, self._key)
                self._current, self._key, self._pos = [], None, 0
        bucket = self._buckets.get(k)
        if bucket is None:
            self._buckets[k] = [entry]
            heappush(self._keys, k)
        else:
            bucket.append(entry)

    def head(self) -> tuple | None:
        """The earliest entry, or None when empty."""
        if self._pos < len(self._current):
            return self._current[self._pos]
        if not self._keys:
            return None
        k = heappop(self._keys)
        bucket = self._buckets.pop(k)
        bucket.sort()
        self._current, self._key, self._pos = bucket, k, 0
        return bucket[0]

    def pop(self) -> tuple:
        """Remove and return the earliest entry (not empty)."""
        entry = self.head()
        assert entry is not None, "pop from an empty CalendarQueue"
        self._pos += 1
        return entry
