"""SIGINT and SIGTERM: "interrupted" on stderr, exit 128 + signal, no temporary file, no worker left."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux) to list processes")


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "planner.cli.main", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_sweep_stopped_by_a_signal_ends_its_workers(tmp_path, sig):
    proc = start(["sweep", "-p", "constraints.power_cap_mw=10:40:0.05", "-w", "2", "--out", "r.csv"], tmp_path)
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(workers) < 2:  # the pool is up
        time.sleep(0.2)
        workers = descendants(proc.pid)
        assert proc.poll() is None, proc.communicate()
    assert workers, "no worker processes started"
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig, err
    assert "interrupted" in err and "Traceback" not in err
    end = time.monotonic() + 10
    while time.monotonic() < end and any(alive(p) for p in workers):
        time.sleep(0.2)
    assert not [p for p in workers if alive(p)], "worker processes outlived the parent"
    assert list(tmp_path.iterdir()) == [], "a file was left behind"


def test_validate_interrupted_leaves_no_temp_file(tmp_path):
    proc = start(["validate", "two-sites", "--out", "val"], tmp_path)  # a minute of simulation: stopped well inside it
    time.sleep(4.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted (SIGINT)" in err, err
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".")]
    assert not leftovers
