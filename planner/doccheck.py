"""A document read back (plan.json, validation.json) checked against the type it serialises."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any

from pydantic import TypeAdapter
from typing_extensions import get_type_hints, is_typeddict

from planner.errors import ScenarioError


def check_document(kind: str, typ: type, doc: Any, source: str) -> None:
    """Refuse a ``kind`` document (``typ`` serialised: a plan is a ``FleetPlan``) whose values do not
    have the types its schema gives, naming each field.

    Only the keys present are checked (a reader asks for the keys it needs); null stands for a
    number that was not finite; keys the schema does not know are left alone."""
    problems: list[str] = []
    _check_value(doc, typ, kind, problems)
    if problems:
        shown = problems[:12] + ([f"... and {len(problems) - 12} more"] if len(problems) > 12 else [])
        raise ScenarioError(f"{source}: not a valid {kind} document: {len(problems)} problem(s)", shown)


def _structured(typ: Any) -> bool:
    """A type checked key by key or item by item (not by pydantic as a whole)."""
    return dataclasses.is_dataclass(typ) or is_typeddict(typ) or typing.get_origin(typ) in (list, dict)


@functools.lru_cache(maxsize=64)
def _adapter(typ: Any) -> TypeAdapter:
    return TypeAdapter(typ)


def _check_value(value: Any, typ: Any, loc: str, problems: list[str]) -> None:
    from pydantic import ValidationError

    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if dataclasses.is_dataclass(typ):
        if not isinstance(value, dict):
            problems.append(f"{loc}: expected a mapping, got {value!r:.60}")
            return
        hints = typing.get_type_hints(typ)
        for f in dataclasses.fields(typ):
            if f.name in value:
                _check_value(value[f.name], hints[f.name], f"{loc}.{f.name}", problems)
        return
    if is_typeddict(typ):  # a section with known keys: like a dataclass, only the keys present
        if not isinstance(value, dict):
            problems.append(f"{loc}: expected a mapping, got {value!r:.60}")
            return
        hints = get_type_hints(typ)
        for key, item in value.items():
            if key in hints:
                _check_value(item, hints[key], f"{loc}.{key}", problems)
        return
    if origin in (typing.Union, types.UnionType) and any(_structured(a) for a in args):
        if value is None and type(None) in args:
            return
        members = [a for a in args if a is not type(None)]
        if isinstance(value, dict):  # sections: the members that know every key given (else all)
            fits = [m for m in members if is_typeddict(m) and set(value) <= set(get_type_hints(m))]
            members = fits or members
        tried = []
        for member in members:
            found: list[str] = []
            _check_value(value, member, loc, found)
            if not found:
                return
            tried.append(found)
        problems.extend(min(tried, key=len))  # the closest member's problems
        return
    if origin is list and args:
        if not isinstance(value, list):
            problems.append(f"{loc}: expected a list, got {value!r:.60}")
            return
        for i, item in enumerate(value):
            _check_value(item, args[0], f"{loc}[{i}]", problems)
        return
    if origin is dict and len(args) == 2:
        if not isinstance(value, dict):
            problems.append(f"{loc}: expected a mapping, got {value!r:.60}")
            return
        for key, item in value.items():
            _check_value(item, args[1], f"{loc}.{key}", problems)
        return
    if value is None and (typ is float or float in args):
        return  # a number that was not finite
    try:
        _adapter(typ).validate_python(value)
    except ValidationError as exc:
        problems.append(f"{loc}: {exc.errors()[0]['msg']} (got {value!r:.60})")
