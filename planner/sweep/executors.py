"""Where sweep points run: in this process, on a local process pool, or on a Dask cluster.

Every executor takes the same ``PointTask`` list and returns the rows of ``run_point``;
the caller orders them, so the table is identical whichever executor ran it. Workers
receive parameters (scenario path and overrides), never solver models. Every wait has a
timeout: a Dask task whose function cannot be unpickled on a worker hangs instead of
failing, so a sweep that stops making progress raises ``SolverError`` rather than waiting
forever.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable
from typing import Any

from planner.errors import ScenarioError, SolverError
from planner.sweep.point import PointTask, Row, run_point

OnDone = Callable[[int, int], None] | None
DEFAULT_POINT_TIMEOUT_S = 600.0


def default_workers() -> int:
    """One worker per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (macOS, Windows)
        return max(1, os.cpu_count() or 1)


STARTUP_S = 60.0


def _total_timeout(tasks: list[PointTask], workers: int, point_timeout_s: float, startup_s: float = STARTUP_S) -> float:
    """A bound for the whole map: start-up, then the points in waves of ``workers``."""
    waves = -(-len(tasks) // max(workers, 1))
    return startup_s + waves * point_timeout_s


class SerialExecutor:
    """Every point in this process, one after another (no start-up cost)."""

    name = "serial"

    def run(self, tasks: list[PointTask], on_done: OnDone = None) -> list[Row]:
        rows: list[Row] = []
        for i, task in enumerate(tasks, start=1):
            rows.append(run_point(task))
            if on_done:
                on_done(i, len(tasks))
        return rows


class ProcessExecutor:
    """A local ``ProcessPoolExecutor`` (forkserver where available, else spawn)."""

    name = "local"

    def __init__(
        self,
        workers: int | None = None,
        point_timeout_s: float = DEFAULT_POINT_TIMEOUT_S,
        *,
        startup_s: float = STARTUP_S,
        fn: Callable[[Any], Any] = run_point,
    ):
        self.workers = workers or default_workers()
        self.point_timeout_s = point_timeout_s
        self.startup_s = startup_s  # allowed for the pool to start, on top of the points [s]
        self.fn = fn  # what each task runs (a picklable top-level function)

    def run(self, tasks: list[PointTask], on_done: OnDone = None) -> list[Row]:
        if not tasks:
            return []
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        workers = min(self.workers, len(tasks))
        rows = []
        # No `with`: leaving a `with` block waits (shutdown(wait=True)) for every running
        # point, so a stuck point would outlive the timeout. On timeout the pool is shut
        # down without waiting and its workers are terminated.
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        try:
            futures = [pool.submit(self.fn, t) for t in tasks]
            limit_s = _total_timeout(tasks, workers, self.point_timeout_s, self.startup_s)
            for i, fut in enumerate(cf.as_completed(futures, timeout=limit_s), start=1):
                rows.append(fut.result())
                if on_done:
                    on_done(i, len(tasks))
        except cf.TimeoutError:
            _abandon(pool)
            raise SolverError(
                f"sweep timed out: {len(rows)} of {len(tasks)} points finished "
                f"(limit {self.point_timeout_s:g} s per point per worker; see --timeout)"
            ) from None
        except BaseException:
            _abandon(pool)
            raise
        pool.shutdown(wait=True)
        return rows


def _abandon(pool: cf.ProcessPoolExecutor) -> None:
    """Stop ``pool`` now: cancel queued points, terminate the workers (running points included)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # taken before shutdown clears it
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)


class DaskExecutor:
    """A ``dask.distributed`` cluster: an existing ``client``, a scheduler ``address``, or a
    ``LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)`` started here."""

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        client: Any | None = None,
        point_timeout_s: float = DEFAULT_POINT_TIMEOUT_S,
        connect_timeout_s: float = 5.0,
    ):
        self.address = address
        self.workers = workers or default_workers()
        self.client = client
        self.point_timeout_s = point_timeout_s
        self.connect_timeout_s = connect_timeout_s

    def run(self, tasks: list[PointTask], on_done: OnDone = None) -> list[Row]:
        if not tasks:
            return []
        if self.client is not None:
            return self._map(self.client, tasks, on_done)
        from distributed import Client, LocalCluster

        if self.address:
            try:
                client = Client(self.address, timeout=self.connect_timeout_s)
            except Exception as exc:  # noqa: BLE001 (refused, timed out, or not a Dask scheduler that answered)
                raise ScenarioError(
                    f"--scheduler {self.address}: cannot connect to a Dask scheduler there within "
                    f"{self.connect_timeout_s:g} s ({type(exc).__name__}: {str(exc)[:200]}); check the address "
                    "(e.g. tcp://10.0.0.5:8786) and that `dask scheduler` is running"
                ) from None
            with client:
                return self._map(client, tasks, on_done)
        with (
            LocalCluster(
                n_workers=min(self.workers, len(tasks)),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            return self._map(client, tasks, on_done)

    def _map(self, client: Any, tasks: list[PointTask], on_done: OnDone) -> list[Row]:
        from distributed import as_completed

        workers = max(len(client.scheduler_info(n_workers=-1).get("workers", {})), 1)
        futures = [client.submit(run_point, t, pure=False) for t in tasks]
        rows = []
        try:
            for i, fut in enumerate(
                as_completed(futures, timeout=_total_timeout(tasks, workers, self.point_timeout_s)), start=1
            ):
                rows.append(fut.result(timeout=self.point_timeout_s))
                if on_done:
                    on_done(i, len(tasks))
        except TimeoutError:
            client.cancel(futures)
            raise SolverError(
                f"Dask sweep timed out: {len(rows)} of {len(tasks)} points finished "
                f"(limit {self.point_timeout_s:g} s per point per worker; a worker that cannot import planner "
                "hangs instead of failing: install planner on every worker)"
            ) from None
        return rows


SCHEMES = ("tcp", "tls", "ws", "wss", "inproc", "ucx")  # dask.distributed's comm backends


def check_scheduler_address(address: str) -> None:
    """Refuse a scheduler address dask.distributed cannot dial, before any work."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    host, _, port = rest.rpartition(":")
    problems = []
    if scheme not in SCHEMES:
        problems.append(f"unknown scheme '{scheme}://' (known: {', '.join(s + '://' for s in SCHEMES)})")
    if scheme != "inproc" and (not host or not port.isdigit() or not 0 < int(port) < 65536):
        problems.append("needs HOST:PORT with a port from 1 to 65535")
    if problems:
        raise ScenarioError(
            f"--scheduler {address}: {'; '.join(problems)}; e.g. tcp://10.0.0.5:8786 (a running `dask scheduler`)"
        )


def make_executor(
    kind: str,
    workers: int | None = None,
    scheduler: str | None = None,
    point_timeout_s: float = DEFAULT_POINT_TIMEOUT_S,
):
    """The executor named on the command line: local (processes; serial for one worker) or dask."""
    if kind == "local":
        if scheduler:
            raise ScenarioError("--scheduler needs --executor dask")
        if workers == 1:
            return SerialExecutor()
        return ProcessExecutor(workers, point_timeout_s)
    if kind == "dask":
        if scheduler is not None:
            check_scheduler_address(scheduler)
        return DaskExecutor(scheduler, workers, point_timeout_s=point_timeout_s)
    raise ScenarioError(f"--executor must be local or dask, got '{kind}'")
