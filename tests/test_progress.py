"""Progress on long work: reported by the library, shown on stderr only on a terminal, never on stdout."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys

import pytest

from planner import progress
from planner.cli import progress as progress_cli
from planner.cli.main import app
from planner.optimize.problem import solver_options


class Recorder:
    """A listener that keeps every task's description, total and last count."""

    def __init__(self) -> None:
        self.tasks: dict[int, dict] = {}
        self.open: set[int] = set()

    def start(self, key, description, total):
        self.tasks[key] = {"description": description, "total": total, "done": 0}
        self.open.add(key)

    def update(self, key, *, done, total, description):
        self.tasks[key].update(done=done, total=total, last=description)

    def stop(self, key):
        self.open.discard(key)

    def described(self, text: str) -> list[dict]:
        return [t for t in self.tasks.values() if text in t["description"] or text in t.get("last", "")]


def recorded(fn) -> Recorder:
    rec = Recorder()
    with progress.listening(rec):
        fn()
    assert not rec.open  # every task stopped
    return rec


def test_nobody_listening_costs_nothing():
    assert not progress.active()
    with progress.task("x", total=3) as t:
        t.advance()
    assert t.done == 1 and list(progress.track([1, 2], "y")) == [1, 2]


def test_the_library_reports_its_long_loops():
    import planner

    rec = recorded(lambda: planner.plan("default"))
    assert rec.described("plan: solving") and rec.described("plan: marginal values")
    assert rec.described("plan: single-SKU fleets")
    rec = recorded(lambda: planner.simulate_demand("chat-and-code", replicas=3, seed=1))
    (replicas,) = rec.described("demand: Monte Carlo replicas")
    assert replicas["total"] == 3 and replicas["done"] == 3
    rec = recorded(lambda: planner.buildout("buildout", mode="myopic"))
    (periods,) = rec.described("buildout: period by period")
    assert periods["total"] == 8 and periods["done"] == 8
    rec = recorded(lambda: planner.buildout("buildout"))
    assert rec.described("buildout: solving all 8 periods")
    rec = recorded(lambda: planner.plan("default-year", explain=False))
    assert rec.described("time aggregation: solve, check the bound, refine")


def test_validation_reports_slices_and_windows():
    import planner

    result = planner.plan("default", explain=False)
    rec = recorded(lambda: planner.validate(plan=result, windows=1, window_s=5.0, warmup_s=1.0))
    (slices,) = rec.described("validation: coarse model, slice by slice")
    assert slices["total"] == 168 and slices["done"] == 168
    (windows,) = rec.described("validation: request-level windows")
    assert windows["total"] == 1 and windows["done"] == 1


def test_closed_loop_iterations_are_reported():
    from planner.pipeline import scenario_problem
    from planner.scenario.load import load_scenario
    from planner.validate.arrivals import request_profiles
    from planner.validate.loop import validate_loop
    from planner.validate.sim import ValidationOptions

    sf = load_scenario("default")
    problem = scenario_problem(sf)
    options = ValidationOptions(windows=1, window_s=5.0, warmup_s=5.0)
    rec = recorded(
        lambda: validate_loop(
            problem,
            request_profiles(sf, problem.workloads),
            options,
            solver_options(sf.scenario),
            slo=0.5,
            from_no_headroom=True,
        )
    )
    (loop,) = rec.described("closed loop")
    assert loop["total"] == 26  # max_utilization 1.0 down to 0.5 by 0.02


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "default", "--json", "--no-explain"],
        ["buildout", "--json", "--mode", "myopic"],
        ["demand", "chat-and-code", "--json", "--replicas", "2"],
    ],
)
def test_cli_shows_progress_on_a_terminal_only_and_never_on_stdout(runner, monkeypatch, args):
    quiet = runner.invoke(app, [*args, "--quiet"])
    piped = runner.invoke(app, args)
    monkeypatch.setattr(progress_cli, "stderr_is_terminal", lambda: True)
    shown = runner.invoke(app, args)
    for r in (quiet, piped, shown):
        assert r.exit_code == 0, r.output
        json.loads(r.stdout)  # one JSON document: nothing else on stdout
    assert "\x1b[" in shown.stderr and ":" in shown.stderr
    for r in (quiet, piped):
        assert "\x1b[" not in r.stderr and "\r" not in r.stderr
    assert shown.stdout == piped.stdout or args[0] != "demand"  # same bytes on stdout (plans carry timings)
    quiet_on_terminal = runner.invoke(app, [*args, "--quiet"])
    assert "\x1b[" not in quiet_on_terminal.stderr


def test_a_real_terminal_gets_the_bars_and_stdout_stays_one_document(tmp_path):
    """stderr on a pseudo-terminal, stdout a pipe: as `planner plan --json > plan.json` in a shell."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "planner.cli.main", "buildout", "--json", "--mode", "myopic"],
        stdout=subprocess.PIPE,
        stderr=slave,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(slave)
    seen, out = b"", b""
    fd_out = proc.stdout.fileno()
    open_fds = {master, fd_out}
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [], 0.5)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the terminal closed with the child
                chunk = b""
            if not chunk:
                open_fds.discard(fd)
            elif fd == master:
                seen += chunk
            else:
                out += chunk
        if not ready and proc.poll() is not None:
            break
    assert proc.wait(timeout=120) == 0
    proc.stdout.close()
    os.close(master)
    assert b"buildout: period by period" in seen
    doc = json.loads(out)
    assert doc["mode"] == "myopic" and b"\x1b[" not in out
