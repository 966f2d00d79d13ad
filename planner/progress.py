"""Progress of long work, reported to whoever listens (the CLI's bars on stderr), or nobody.

Library code marks its long loops::

    with progress.task("validation windows", total=len(windows)) as t:
        for w in windows:
            ...
            t.advance()

With no listener installed (the library used from Python, a test, a pipe) a task costs a
context-variable lookup and does nothing. The CLI installs a listener only when stderr is a
terminal and ``--quiet`` is not given (planner.cli.progress); nothing ever goes to stdout.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")


class Listener(Protocol):
    def start(self, key: int, description: str, total: float | None) -> None: ...
    def update(self, key: int, *, done: float, total: float | None, description: str) -> None: ...
    def stop(self, key: int) -> None: ...


_listener: contextvars.ContextVar[Listener | None] = contextvars.ContextVar("planner_progress", default=None)
_next_key = iter(range(1, 1 << 62))


class Task:
    """One piece of long work: ``advance()`` a step, or ``update(done=, total=, description=)``."""

    def __init__(self, listener: Listener | None, description: str, total: float | None) -> None:
        self._listener = listener
        self.description = description
        self.total = total
        self.done = 0.0
        self.key = next(_next_key) if listener is not None else 0

    def advance(self, steps: float = 1.0) -> None:
        self.update(done=self.done + steps)

    def update(self, *, done: float | None = None, total: float | None = None, description: str | None = None) -> None:
        if done is not None:
            self.done = done
        if total is not None:
            self.total = total
        if description is not None:
            self.description = description
        if self._listener is not None:
            self._listener.update(self.key, done=self.done, total=self.total, description=self.description)


@contextlib.contextmanager
def task(description: str, total: float | None = None) -> Iterator[Task]:
    """A unit of long work shown while it runs (``total`` None: a spinner, no count)."""
    listener = _listener.get()
    t = Task(listener, description, total)
    if listener is None:
        yield t
        return
    listener.start(t.key, description, total)
    try:
        yield t
    finally:
        listener.stop(t.key)


def track(items: Iterable[T], description: str, total: float | None = None) -> Iterator[T]:
    """``items``, one step of a task per item (``total`` default: ``len(items)`` when it has one)."""
    if _listener.get() is None:
        yield from items
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with task(description, total) as t:
        for item in items:
            yield item
            t.advance()


@contextlib.contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Report every task started inside the block to ``listener`` (None: to nobody)."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def active() -> bool:
    """Whether anyone listens (skip preparing progress text when nobody does)."""
    return _listener.get() is not None
