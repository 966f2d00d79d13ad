"""Read a scenario file, apply command-line overrides, validate."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import JsonValue

from planner.errors import ScenarioError
from planner.inputs import read_yaml, validate_model
from planner.resources import scenarios_dir
from planner.scenario.schema import DemandScenario, Scenario

DEFAULT_SCENARIO = "default.yaml"


@dataclass(frozen=True)
class ScenarioFile:
    """A validated scenario and the file it came from (relative paths resolve against its folder)."""

    scenario: Scenario | DemandScenario  # DemandScenario only from load_demand_file
    path: Path
    notes: tuple[str, ...] = ()  # inputs the file sets that no command uses (planner.scenario.effects)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        p = Path(relative).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)


def default_scenario_path() -> Path:
    """The embedded default scenario."""
    return scenarios_dir() / DEFAULT_SCENARIO


Overrides = Mapping[str, JsonValue]  # dotted scenario path -> the value set there (``--set PATH=VALUE``)

LISTS_BY_KEY = {"skus": "id", "sites": "id", "procurement": "kind"}  # lists addressed by an entry's key


def _set_path(data: dict[str, Any], dotted: str, value: JsonValue) -> None:
    """Set ``a.b.c`` in nested mappings; ``skus.<id>.<field>`` addresses a SKU by id, ``sites.<id>.<field>``
    a site, ``skus.<id>.procurement.<kind>.<field>`` a procurement entry by its kind."""
    parts = dotted.split(".")
    if parts[0] in LISTS_BY_KEY and len(parts) >= 3:
        key = LISTS_BY_KEY[parts[0]]
        entries = data.get(parts[0])
        if not isinstance(entries, list):
            entries = []
        for i, entry in enumerate(entries):
            entry_id = entry if isinstance(entry, str) else entry.get(key) if isinstance(entry, dict) else None
            if entry_id == parts[1]:
                if isinstance(entry, str):
                    entries[i] = entry = {key: entry}
                _set_path(entry, ".".join(parts[2:]), value)
                return
        known = [e if isinstance(e, str) else e.get(key) for e in entries if isinstance(e, (str, dict))]
        what = {"skus": "SKU", "sites": "site", "procurement": "procurement entry"}[parts[0]]
        raise ScenarioError(
            f"override {dotted}: no {what} '{parts[1]}' in the scenario ({parts[0]}: {', '.join(map(str, known)) or 'none'})"
        )
    node: Any = data
    for key in parts[:-1]:
        if not isinstance(node, dict):
            raise ScenarioError(f"override {dotted}: '{key}' is not a mapping in the scenario")
        node = node.setdefault(key, {})
        if node is None:
            raise ScenarioError(f"override {dotted}: '{key}' is empty in the scenario")
    if not isinstance(node, dict):
        raise ScenarioError(f"override {dotted}: parent is not a mapping")
    node[parts[-1]] = value


def parse_override_value(text: str) -> JsonValue:
    """A command-line value as YAML would read it (numbers, booleans, null, strings)."""
    from planner.inputs import StrictLoader

    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader); 2026-02-30 stays text
    except yaml.YAMLError:
        return text


def scenario_sha256(sf: ScenarioFile) -> str:
    """The content hash of a scenario as planned (overrides applied): SHA-256 of its canonical JSON.

    Recorded in every document (plan, validation, sweep) so that a report can tell documents made
    from another scenario."""
    import hashlib

    return hashlib.sha256(sf.scenario.model_dump_json().encode("utf-8")).hexdigest()


def load_scenario(path: Path | None = None, overrides: Overrides | None = None) -> ScenarioFile:
    """Read, override and validate a scenario file (default: the embedded default scenario).
    ``path`` may also name a shipped scenario (``chat-and-code``): planner.scenario.shipped."""
    from planner.scenario.shipped import resolve_scenario

    path = resolve_scenario(path) if path is not None else default_scenario_path()
    data = read_yaml(path, "scenario")
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{path}: a scenario must be a mapping (name, skus, demand, ...), got {type(data).__name__}"
        )
    if overrides:
        data = copy.deepcopy(data)
        for dotted, value in overrides.items():
            _set_path(data, dotted, value)
    return scenario_file(data, path, tuple(overrides or ()))


def with_overrides(sf: ScenarioFile, overrides: Overrides) -> ScenarioFile:
    """``sf`` (which may carry overrides already) with more ``overrides`` set on top, validated
    again as a whole."""
    if not overrides:
        return sf
    data = sf.scenario.model_dump(mode="json", exclude_unset=True, by_alias=True)
    for dotted, value in overrides.items():
        _set_path(data, dotted, value)
    return scenario_file(data, sf.path, tuple(overrides))


def scenario_file(data: dict[str, Any], path: Path, overridden: tuple[str, ...] = ()) -> ScenarioFile:
    """Validate scenario data read from ``path`` with the ``overridden`` paths set on top.

    An input without effect (planner.scenario.effects) is an error when an override sets it
    (or it is PUE under the all-in basis); one the file sets is a note."""
    from planner.scenario.effects import no_effect

    scenario = validate_model(Scenario, data, str(path))
    inert = no_effect(scenario)
    errors = [i.message for i in inert if i.in_file or i.path in overridden]
    if errors:
        where = "override" if any(i.path in overridden for i in inert) else str(path)
        raise ScenarioError(f"{where}: {len(errors)} input(s) without effect", errors)
    return ScenarioFile(scenario, Path(path).resolve(), tuple(i.message for i in inert))


def load_demand_file(path: Path | None = None) -> ScenarioFile:
    """A file for `planner demand`: a whole scenario, or one with only a ``demand:`` section
    (plus ``name`` and ``description``; no ``skus``). A file without ``skus`` that has any other
    scenario section is refused: it is a scenario missing its SKUs, not a demand file."""
    from planner.scenario.shipped import resolve_scenario

    path = resolve_scenario(path) if path is not None else default_scenario_path()
    data = read_yaml(path, "demand")
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{path}: a demand file must be a mapping with a demand: section, got {type(data).__name__}"
        )
    if "skus" in data:
        return load_scenario(path)
    others = sorted(set(data) - set(DemandScenario.model_fields))
    if others:
        raise ScenarioError(
            f"{path}: no skus, so this is read as a demand file (demand:, with name and description), but it "
            f"also has {', '.join(others)}; add skus to make it a scenario, or keep only the demand section"
        )
    if "demand" not in data:
        raise ScenarioError(f"{path}: a demand file needs a demand: section (load_curve, or workloads to generate)")
    dem = validate_model(DemandScenario, data, str(path))
    if dem.name is None:
        dem = dem.model_copy(update={"name": Path(path).stem})
    return ScenarioFile(dem, Path(path).resolve())
