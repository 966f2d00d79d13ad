"""Every command in the README runs as written, with the exit code the README gives it.

The README's ```bash blocks are read in order; each line that starts with `planner` (a
trailing backslash continues it; `a && b` runs both, the first must succeed) runs in one
scratch folder holding a copy of the shipped `scenarios/` (where a reader of the README is:
a clone), so later commands read what earlier ones wrote (`results.csv`, `out/plan.json`,
`val/validation.json`, `curves.yaml`). A command is expected to exit 0 unless its comment
says `exit N`. The two closed-loop commands (about 40 s each) run in their own processes, and the
rest in two more: the validation / sweep / report chain (which reads what it writes) and the
others; the README's closed-loop figures are checked from their output here.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_TEXT = (ROOT / "README.md").read_text()
README = " ".join(README_TEXT.split())


def readme_commands(text: str = README_TEXT) -> list[tuple[str, int]]:
    """(command line, expected exit code) of every `planner` line in the README's bash blocks."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            line = line.strip()
            if not line.startswith("planner"):
                continue
            command, _, comment = line.partition(" #")
            m = re.search(r"\bexit (\d+)", comment)
            out.append((command.strip(), int(m.group(1)) if m else 0))
    return out


def _run_group(folder: str, commands: list[str]) -> dict[str, dict]:
    """Run ``commands`` in order in ``folder`` (in this process, through the CLI app)."""
    from typer.testing import CliRunner

    from planner.cli.main import app

    os.chdir(folder)
    runner = CliRunner()
    results = {}
    for command in commands:
        steps = [shlex.split(part)[1:] for part in command.split("&&")]
        codes, outs, errs = [], [], []
        for args in steps:
            r = runner.invoke(app, args)
            codes.append(r.exit_code)
            outs.append(r.stdout)
            errs.append(r.stderr + (repr(r.exception) if r.exception and r.exit_code not in (2, 3) else ""))
            if r.exit_code != 0:
                break
        results[command] = {"codes": codes, "stdout": outs[-1], "stderr": "\n".join(errs)}
    return results


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "scenarios", folder / "scenarios", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    shutil.copytree(ROOT / "tests" / "data", folder / "tests" / "data")  # the example result files it imports
    commands = [c for c, _ in readme_commands()]
    loops = [c for c in commands if "--validate" in c.split()]
    rest = [c for c in commands if c not in loops]
    ctx = multiprocessing.get_context(
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    )
    # validation, sweep-to-report: the commands that read `val/` or `results.csv` stay with those that write them
    chained = [c for c in rest if re.search(r"\b(validate|report)\b|results\.csv|\bval/", c)]
    others = [c for c in rest if c not in chained]
    groups = [chained, others, *([c] for c in loops)]  # each closed loop on its own: independent of the rest
    with cf.ProcessPoolExecutor(max_workers=min(len(groups), max(2, os.cpu_count() or 1)), mp_context=ctx) as pool:
        futures = [pool.submit(_run_group, str(folder), g) for g in groups]
        return {k: v for f in futures for k, v in f.result().items()}


def test_the_readme_has_commands_for_every_command():
    commands = [c for c, _ in readme_commands()]
    used = {shlex.split(c)[1] for c in commands}
    assert used >= {
        "plan",
        "demand",
        "validate",
        "buildout",
        "sweep",
        "report",
        "schema",
        "compare",
        "throughput",
        "scenarios",
        "diff",
    }
    assert all("my.yaml" not in c and "my-scenario" not in c for c in commands)  # shipped scenarios only


@pytest.mark.parametrize("command,expected", readme_commands())
def test_readme_command_exits_as_documented(runs, command, expected):
    got = runs[command]
    *before, last = got["codes"]
    assert all(c == 0 for c in before), got["stderr"]
    assert last == expected, f"{command}: exit {last}, the README says {expected}\n{got['stderr'][-2000:]}"
    assert "Traceback" not in got["stderr"]


def says(text: str) -> None:
    assert " ".join(text.split()) in README, f"README does not say: {text}"


def test_closed_loop_figures(runs):
    """The price-of-reliability paragraph, from the two closed-loop commands as the README runs them."""
    (least,) = [c for c in runs if "--from-no-headroom" in c]
    (own,) = [c for c in runs if "--validate" in c and "--from-no-headroom" not in c]
    loop = json.loads(runs[least]["stdout"])["validation"]
    it0, it1 = loop["iterations"][:2]
    assert it0["max_utilization"] == 1.0 and it1["max_utilization"] == 0.98
    assert it0["slo_attainment"] < 0.99 <= it1["slo_attainment"]  # the loop stops at its second iteration
    ref = it0["planned_cost_per_million_tokens"]
    price = it1["planned_cost_per_million_tokens"] - ref
    says(f"with no headroom {it0['slo_attainment'] * 100:.1f} % of requests meet the SLO")
    says(
        f"2 % headroom (max_utilization 0.98) reaches {it1['slo_attainment'] * 100:.2f} % at "
        f"${it1['planned_cost_per_million_tokens']:.4f} against ${ref:.4f} per million tokens, so the 99 % SLO "
        f"costs ${price:.4f}/M tokens ({price / ref * 100:+.0f} %)"
    )
    text = " ".join(runs[own]["stdout"].split())
    attained = float(
        re.search(r"SLO 99\.00% met at max_utilization 0\.90 \(headroom 10%\), attainment ([0-9.]+)%", text).group(1)
    )
    m = re.search(
        r"price of headroom: \$\+([0-9.]+)/M tokens over the no-headroom plan \(max_utilization 1\.0: \$([0-9.]+)/M",
        text,
    )
    extra, base = float(m.group(1)), float(m.group(2))
    says(f"the scenario's own 0.90 gives {attained:.2f} % at ${base + extra:.4f} (+${extra:.4f}/M)")


def test_the_python_api_snippet_runs_as_written(tmp_path, monkeypatch):
    section = README_TEXT.split("## Python API", 1)[1]
    (snippet,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(snippet, "README.md (Python API)", "exec"), scope)  # noqa: S102 (the README's own code)
    import openpyxl
    import pandas as pd

    result = scope["result"]
    assert result.status == "optimal" and result.power_cap_mw == 12
    assert isinstance(scope["fleet"], pd.DataFrame) and isinstance(scope["caps"], pd.DataFrame)
    assert scope["fleet"]["gpus"].sum() == sum(f.gpus for f in result.plan.fleet)
    assert scope["doc"]["cost_per_million_tokens"] == result.cost_per_million_tokens
    assert openpyxl.load_workbook(tmp_path / "recommendation.xlsx").sheetnames[0] == "Summary"
    assert list(scope["curve"].columns[:3]) == ["hour", "chat", "code"]
    assert 0 < scope["checked"].slo_attainment <= 1
    assert len(scope["grid"].table) == 3 and len(scope["build"].periods) == 8
