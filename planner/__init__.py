"""planner: capacity planning for AI inference fleets by cost per delivered token.

The Python API (see planner.api and the README's "Python API" section)::

    import planner
    result = planner.plan("default", overrides={"constraints.power_cap_mw": 12})
    result.fleet  # a pandas DataFrame

``planner.validate``, ``planner.buildout`` and ``planner.sweep`` are functions of that API and
also name subpackages: the names are bound to callables that call the function and read any
other attribute from the subpackage (``planner.validate.sim`` is the module), so both uses work.
"""

import importlib as _importlib

import planner.buildout  # noqa: E402, F401 (loaded before the API names are bound: see the docstring)
import planner.sweep  # noqa: E402, F401
import planner.validate  # noqa: E402, F401
from planner._version import __version__
from planner.api import (  # noqa: E402
    BuildoutResult,
    DemandResult,
    PlanResult,
    SweepResult,
    ValidationResult,
    load_scenario,
    plan,
    simulate_demand,
)
from planner.api import buildout as _buildout  # noqa: E402
from planner.api import sweep as _sweep  # noqa: E402
from planner.api import validate as _validate  # noqa: E402


class _Command:
    """An API function that shares its name with a subpackage: calling it runs the function,
    any other attribute comes from the subpackage."""

    def __init__(self, fn, package: str) -> None:
        self.__wrapped__ = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__qualname__ = fn.__qualname__
        self.__module__ = fn.__module__
        self._package = package

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(_importlib.import_module(self._package), name)

    def __repr__(self) -> str:
        return f"<function planner.{self.__name__} (and package {self._package})>"


validate = _Command(_validate, "planner.validate")
buildout = _Command(_buildout, "planner.buildout")
sweep = _Command(_sweep, "planner.sweep")

__all__ = [
    "BuildoutResult",
    "DemandResult",
    "PlanResult",
    "SweepResult",
    "ValidationResult",
    "__version__",
    "buildout",
    "load_scenario",
    "plan",
    "simulate_demand",
    "sweep",
    "validate",
]
