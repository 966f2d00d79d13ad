"""Sweep points: `--param PATH=VALUES` parsed, checked against the scenario, expanded.

VALUES forms (`PATH` is a dotted scenario path, see ``valid_paths``):

* ``a:b:step``: every value from ``a`` to ``b`` inclusive in steps of ``step``
  (``constraints.power_cap_mw=5:50:5``);
* ``a:b`` with integers: every integer from ``a`` to ``b`` inclusive (``demand.seed=1:10``);
* ``x,y,z``: a list, each item read as YAML reads it (numbers, booleans, strings).

A grid is the Cartesian product of every parameter's values, in the order given (the last
parameter varies fastest). Random samples (``sample_points``) draw each parameter
independently from a ``numpy.random.Generator`` seeded with the given seed: lists and stepped
ranges by picking one of their values, integer ``a:b`` ranges uniformly among their integers,
float ``a:b`` ranges uniformly in [a, b].
"""

from __future__ import annotations

import difflib
import itertools
import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from planner.errors import ScenarioError
from planner.inputs import annotation_types
from planner.limits import DEFAULT_MAX_POINTS
from planner.scenario.load import ScenarioFile, load_scenario, parse_override_value
from planner.scenario.schema import Scenario, Site, SkuEntry

MAX_VALUES_PER_PARAM = 1_000_000  # values one range may expand to (memory guard before counting)

# A swept value: a range's number, or a list item as YAML reads it (number, boolean, string). An item
# YAML reads as something else (a date, a list) fails the scenario check in build_sweep, so a point
# that runs holds only these.
Value = str | int | float | bool | None
Point = dict[str, Value]  # one point's overrides: scenario path -> value


@dataclass(frozen=True)
class Param:
    """One swept scenario field and the values it takes."""

    path: str
    text: str  # VALUES as given on the command line
    values: tuple[Value, ...]  # the grid values (for a float a:b range: its two ends)
    low: float | None = None  # a continuous a:b range (samples only) [same unit as the field]
    high: float | None = None
    integer_range: bool = False  # a:b with integers: every integer in between

    @property
    def continuous(self) -> bool:
        return self.low is not None


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep: the scenario, its parameters and every point's overrides."""

    scenario_path: Path
    params: tuple[Param, ...]
    points: tuple[Point, ...]
    mode: str  # grid | samples
    seed: int | None = None

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.params]


# ---- valid paths ---------------------------------------------------------------------------


def _model_paths(model: type[BaseModel], value: Any, prefix: str, keys: dict[str, list[str]]) -> list[str]:
    """Addressable scalar fields of ``model`` (``value``: the scenario's instance, for dict keys)."""
    out: list[str] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        current = getattr(value, name, None) if value is not None else None
        for t in annotation_types(info.annotation):
            origin = typing.get_origin(t)
            if isinstance(t, type) and issubclass(t, BaseModel):
                out += _model_paths(t, current, path + ".", keys)
            elif origin is dict:
                item = typing.get_args(t)[1]
                names = keys.get(path, sorted(current or {}))
                for key in names:
                    sub = (current or {}).get(key)
                    if isinstance(item, type) and issubclass(item, BaseModel):
                        out += _model_paths(item, sub, f"{path}.{key}.", keys)
                    else:
                        out.append(f"{path}.{key}")
            elif origin is list:
                continue  # lists are not addressable by a dotted path (skus are handled apart)
            else:
                out.append(path)
            break
    return out


def valid_paths(scenario: Scenario) -> list[str]:
    """Every dotted path a sweep may set in this scenario, e.g. ``constraints.power_cap_mw``,
    ``economics.pue``, ``skus.<id>.cost_per_gpu_hour``, ``demand.seed``."""
    workload_names = sorted(scenario.workloads) or sorted(scenario.demand.workloads)
    keys = {"existing": scenario.sku_ids(), "workloads": sorted(scenario.workloads)}
    top = _model_paths(Scenario, scenario, "", keys)
    sku_fields = [f for f in SkuEntry.model_fields if f not in ("id", "throughput", "procurement")]
    skus = [f"skus.{i}.{f}" for i in scenario.sku_ids() for f in sku_fields]
    skus += [f"skus.{i}.throughput.{w}" for i in scenario.sku_ids() for w in workload_names]
    for e in scenario.skus:
        for o in e.procurement or []:
            skus += [f"skus.{e.id}.procurement.{o.kind}.{f}" for f in type(o).model_fields if f != "kind"]
    sites = [f"sites.{s.id}.{f}" for s in scenario.sites or [] for f in Site.model_fields if f != "id"]
    return [p for p in top if p != "name"] + skus + sites


def _paths_message(scenario: Scenario) -> str:
    """The valid paths, SKU fields folded into one line."""
    paths = valid_paths(scenario)
    plain = [p for p in paths if not p.startswith(("skus.", "sites."))]
    sku_fields = [f for f in SkuEntry.model_fields if f not in ("id", "throughput", "procurement")]
    sku_fields += ["throughput.<workload>", "procurement.<kind>.<field>"]
    text = (
        "valid paths: "
        + ", ".join(plain)
        + f"; skus.<id>.<field> with <id> in {{{', '.join(scenario.sku_ids())}}} "
        + f"and <field> in {{{', '.join(sku_fields)}}}"
    )
    if scenario.sites:
        fields = [f for f in Site.model_fields if f != "id"]
        text += f"; sites.<id>.<field> with <id> in {{{', '.join(s.id for s in scenario.sites)}}} and <field> in {{{', '.join(fields)}}}"
    return text


# ---- VALUES -------------------------------------------------------------------------------


def _number(text: str) -> int | float:
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    v = float(t)  # ValueError for non-numbers
    if not math.isfinite(v):
        raise ValueError(text)
    return v


def _tidy(v: float) -> float:
    """Drop float noise from stepping: 0.1 * 3 -> 0.3."""
    return float(f"{v:.12g}")


def parse_values(path: str, text: str, flag: str | None = None) -> Param:
    """One `PATH=VALUES` right-hand side; ``flag`` names the option in messages (default `--param PATH=`)."""
    flag = flag or f"--param {path}="
    text = text.strip()
    if not text:
        raise ScenarioError(f"{flag}: no values (use a:b:step, a:b for integers, or a,b,c)")
    if ":" in text and "," not in text:
        parts = text.split(":")
        try:
            nums = [_number(p) for p in parts]
        except ValueError:
            nums = []
        if len(parts) in (2, 3) and len(nums) == len(parts):
            return _range(path, text, nums, flag)
        if len(parts) in (2, 3):
            raise ScenarioError(f"{flag}{text}: a range needs numbers, a:b:step (e.g. 5:50:5) or a:b for integers")
    values = tuple(parse_override_value(item.strip()) for item in text.split(","))
    if any(isinstance(v, str) and not v for v in values) or any(v is None for v in values):
        raise ScenarioError(f"{flag}{text}: an empty item in the list")
    return Param(path, text, values)


def _range(path: str, text: str, nums: list[int | float], flag: str) -> Param:
    a, b = nums[0], nums[1]
    if not all(math.isfinite(n) for n in nums):
        raise ScenarioError(f"{flag}{text}: a range's start, end and step must be finite numbers")
    if b < a:
        raise ScenarioError(f"{flag}{text}: the range end {b} is below its start {a}")
    if len(nums) == 2:
        if isinstance(a, int) and isinstance(b, int):
            if b - a + 1 > MAX_VALUES_PER_PARAM:
                raise ScenarioError(
                    f"{flag}{text}: {b - a + 1:,} values; at most {MAX_VALUES_PER_PARAM:,} per parameter"
                )
            return Param(path, text, tuple(range(a, b + 1)), integer_range=True)
        return Param(path, text, (float(a), float(b)), low=float(a), high=float(b))
    step = nums[2]
    if step <= 0:
        raise ScenarioError(f"{flag}{text}: the step must be positive, got {step}")
    span = (b - a) / step  # steps in the range: infinite when the step is tiny against the range
    count = math.floor(span + 1e-9) + 1 if math.isfinite(span) and span < MAX_VALUES_PER_PARAM else math.inf
    if count > MAX_VALUES_PER_PARAM:
        many = f"{count:,}" if math.isfinite(count) else f"more than {MAX_VALUES_PER_PARAM:,}"
        raise ScenarioError(f"{flag}{text}: {many} values; at most {MAX_VALUES_PER_PARAM:,} per parameter")
    count = int(count)
    if all(isinstance(n, int) for n in nums):
        return Param(path, text, tuple(a + i * step for i in range(count)))
    return Param(path, text, tuple(_tidy(a + i * step) for i in range(count)))


def parse_params(items: list[str]) -> list[Param]:
    """`PATH=VALUES` strings from the command line."""
    out: list[Param] = []
    for item in items:
        if "=" not in item:
            raise ScenarioError(f"--param expects PATH=VALUES (e.g. constraints.power_cap_mw=5:50:5), got '{item}'")
        path, text = item.split("=", 1)
        path = path.strip()
        if any(p.path == path for p in out):
            raise ScenarioError(f"--param {path} is given twice; give all its values in one --param")
        out.append(parse_values(path, text))
    return out


# ---- checking and expansion ---------------------------------------------------------------


def check_paths(scenario: Scenario, params: list[Param]) -> None:
    """Every path must be one of ``valid_paths``; all problems at once, with near misses."""
    valid = valid_paths(scenario)
    problems = []
    for p in params:
        if p.path in valid:
            continue
        near = difflib.get_close_matches(p.path, valid, n=1, cutoff=0.6)
        problems.append(f"unknown path '{p.path}'" + (f"; did you mean '{near[0]}'?" if near else ""))
    if problems:
        raise ScenarioError("--param: " + "; ".join(problems) + "\n" + _paths_message(scenario), [])


def _check_count(count: int, what: str, max_points: int) -> None:
    if count > max_points:
        raise ScenarioError(
            f"{what} has {count:,} points, above the limit of {max_points:,}: "
            f"raise it with --max-points {count} if you mean it, or use fewer values (or --samples N)"
        )


def grid_points(params: list[Param], max_points: int = DEFAULT_MAX_POINTS) -> list[Point]:
    """The Cartesian product of every parameter's values (last parameter fastest); more than
    ``max_points`` points is a ScenarioError (counted before anything is expanded)."""
    for p in params:
        if p.continuous:
            raise ScenarioError(
                f"--param {p.path}={p.text}: a float range needs a step for a grid (a:b:step), "
                "or use --samples N to draw from it"
            )
    _check_count(math.prod(len(p.values) for p in params), "the grid", max_points)
    return [
        dict(zip([p.path for p in params], combo, strict=True))
        for combo in itertools.product(*(p.values for p in params))
    ]


def sample_points(params: list[Param], n: int, rng: np.random.Generator) -> list[Point]:
    """``n`` points, each parameter drawn independently (see the module docstring)."""
    columns: dict[str, list[Value]] = {}
    for p in params:
        if p.continuous:
            columns[p.path] = [_tidy(float(v)) for v in rng.uniform(p.low, p.high, size=n)]
        else:
            idx = rng.integers(0, len(p.values), size=n)
            columns[p.path] = [p.values[int(i)] for i in idx]
    return [{p.path: columns[p.path][i] for p in params} for i in range(n)]


def build_sweep(
    scenario: Path | str | None,
    items: list[str],
    *,
    samples: int | None = None,
    seed: int | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
) -> SweepSpec:
    """Parse `PATH=VALUES` items, check them against the scenario, and validate every distinct
    value before anything runs (a bad path or value is a ScenarioError listing valid paths).

    Each value is validated once, on its own (a scenario load per distinct value, not per
    point); a combination that breaks a cross-field rule becomes an ``invalid`` row when run.
    A sweep of more than ``max_points`` points is refused.
    """
    base: ScenarioFile = load_scenario(scenario)
    if not items:
        raise ScenarioError("give at least one --param PATH=VALUES\n" + _paths_message(base.scenario))
    params = parse_params(items)
    check_paths(base.scenario, params)
    if samples is not None:
        if samples < 1:
            raise ScenarioError(f"--samples must be at least 1, got {samples}")
        _check_count(samples, f"--samples {samples}", max_points)
        used_seed = seed if seed is not None else base.scenario.demand.seed
        points = sample_points(params, samples, np.random.default_rng(used_seed))
        mode = "samples"
    else:
        points = grid_points(params, max_points)
        used_seed = None
        mode = "grid"
    _check_values(base, params, points)
    return SweepSpec(base.path, tuple(params), tuple(points), mode, used_seed)


def _problem_text(exc: ScenarioError) -> str:
    """The problem lines of a scenario validation error, without the file header."""
    return "; ".join(exc.problems) if exc.problems else str(exc)


def _check_values(base: ScenarioFile, params: list[Param], points: list[Point]) -> None:
    """Each distinct value of each parameter once, on its own; every problem at once.

    The values checked are those the points use (for samples: the values drawn; for a
    continuous range: its two ends), so the work is bounded by the point count.

    When every value of a parameter fails for the same reason, the field itself does not
    apply to this scenario (e.g. ``demand.seed`` with a load_curve CSV): said once, as such.
    """
    problems: list[str] = []
    for p in params:
        values = list(dict.fromkeys((p.low, p.high) if p.continuous else (pt[p.path] for pt in points)))
        failed: dict[Value, str] = {}
        for v in values:
            try:
                load_scenario(base.path, {p.path: v})
            except ScenarioError as exc:
                failed[v] = _problem_text(exc)
        reasons = set(failed.values())
        if len(values) > 1 and len(failed) == len(values) and len(reasons) == 1:
            problems.append(f"{p.path} cannot be swept in this scenario (every value is rejected): {reasons.pop()}")
        else:
            problems += [f"{p.path}={v!r}: {text}" for v, text in failed.items()]
    if problems:
        shown = problems[:12] + ([f"... and {len(problems) - 12} more"] if len(problems) > 12 else [])
        raise ScenarioError(
            "--param: invalid value(s) for the scenario "
            + str(base.path)
            + "\n"
            + "\n".join(f"  - {line}" for line in shown)
            + "\n"
            + _paths_message(base.scenario)
        )
