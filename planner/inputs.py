"""Reading user files and turning validation failures into messages a person can act on.

Every message names the file, the field path (``skus[1].power_kw_per_gpu``), the
offending value and, for an unknown key, the nearest valid key.
"""

from __future__ import annotations

import difflib
import json
import math
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from planner.errors import ScenarioError
from planner.limits import read_text_bounded


class _DuplicateKey(yaml.YAMLError):
    """A mapping names the same key twice (YAML says a key is unique; PyYAML keeps the last)."""

    def __init__(self, key: Any, first: int, second: int):
        super().__init__(f"key '{key}' is given twice, at line {first} and line {second}; keep one")
        self.problem = str(self)
        self.problem_mark = None


class StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping, naming both lines."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise _DuplicateKey(key, seen[key], line)
            except TypeError:  # an unhashable key: PyYAML reports it below
                continue
            seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node):
        """A date that does not exist (2026-02-30) is an error at its line, not a ValueError."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"'{node.value}' is not a date ({exc})", node.start_mark
            ) from None


StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp)


def read_yaml(path: Path, what: str) -> Any:
    """Parse a YAML file. [what: 'scenario', 'catalog', ... for messages]"""
    if not path.exists():
        raise ScenarioError(f"{what} file not found: {path}")
    if path.is_dir():
        raise ScenarioError(f"{what} path is a directory, not a file: {path}")
    text = read_text_bounded(path, f"{what} file")
    try:
        data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{path}: not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise ScenarioError(
            f"{path}: nested too deeply to read (hundreds of levels); a {what} is a few levels deep"
        ) from None
    if data is None:
        raise ScenarioError(f"{path}: the {what} file is empty")
    return data


def read_json(path: Path, what: str, hint: str = "") -> Any:
    """Parse a JSON file. [what: 'plan file', 'validation file', ... for messages; hint: how to make one]"""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{what} not found: {path}" + (f" ({hint})" if hint else ""))
    text = read_text_bounded(path, what, encoding="utf-8-sig")
    try:
        return json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{path}: not a readable {what}: not valid JSON: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{path}: not a readable {what}: nested too deeply (hundreds of levels)") from None


def format_loc(loc: tuple[Any, ...]) -> str:
    """('skus', 1, 'power') -> 'skus[1].power'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def annotation_types(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (through Optional, Union, Annotated; None left out)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return annotation_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                out.extend(annotation_types(arg))
        return out
    return [annotation]


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Follow a validation location through nested models, lists and dicts."""
    current: list[Any] = [model]
    for part in loc:
        nxt: list[Any] = []
        for ann in current:
            for t in annotation_types(ann):
                origin = typing.get_origin(t)
                if isinstance(t, type) and issubclass(t, BaseModel):
                    field = t.model_fields.get(str(part))
                    if field is not None:
                        nxt.append(field.annotation)
                elif origin in (list, tuple) and isinstance(part, int):
                    nxt.extend(typing.get_args(t)[:1])
                elif origin is dict:
                    args = typing.get_args(t)
                    if len(args) == 2:
                        nxt.append(args[1])
        current = nxt
        if not current:
            return None
    for ann in current:
        for t in annotation_types(ann):
            if isinstance(t, type) and issubclass(t, BaseModel):
                return t
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_validation_error(exc: ValidationError, model: type[BaseModel], source: str) -> ScenarioError:
    """One ScenarioError listing every problem of a pydantic ValidationError."""
    problems: list[str] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            key = str(loc[-1])
            hint = ""
            if parent is not None:
                valid = sorted(parent.model_fields)
                near = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
                hint = f"; did you mean '{near[0]}'?" if near else ""
                hint += f" (valid keys: {', '.join(valid)})"
            problems.append(f"{format_loc(loc)}: unknown key '{key}'{hint}")
        elif kind == "missing":
            problems.append(f"{format_loc(loc)}: required field is missing")
        else:
            msg = err["msg"]
            value = err.get("input")
            shown = "" if isinstance(value, (dict, list)) else f" (got {_short(value)})"
            if isinstance(value, float) and math.isnan(value):
                shown = " (got NaN)"
            problems.append(f"{format_loc(loc)}: {msg}{shown}")
    return ScenarioError(f"{source}: {len(problems)} problem(s) found", problems)


def validate_model(model: type[BaseModel], data: Any, source: str, context: dict[str, Any] | None = None):
    """Validate ``data`` as ``model`` or raise ScenarioError naming ``source``."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise describe_validation_error(exc, model, source) from None
