"""Documents read back (plan.json, validation.json) are checked key by key against the types they serialise."""

from __future__ import annotations

import pytest

from planner.doccheck import check_document
from planner.errors import ScenarioError
from planner.optimize.plan import FleetPlan
from planner.validate.metrics import FleetSimResult


@pytest.mark.parametrize(
    "doc",
    [
        {"solver": {"backend": "highs", "status": "optimal"}},  # a section's keys: only those present
        {"solver": None, "aggregation": {"mode": "exact"}},
        {"iterations": [{"stage": "service_floor", "tokens": 3.0}, {"iteration": 2, "f_usd": -1.0}]},
        {"reason": {"summary": "s", "lines": [], "checks": [{"check": "supply", "peak_tokens_per_s": 5.0}]}},
        {"sites": [{"site": "hall-a", "power": None, "racks": None}], "total_cost_usd": None},  # null: not finite
        {"unknown_key": {"anything": 1}},
    ],
)
def test_documents_with_the_keys_they_give_pass(doc):
    check_document("plan", FleetPlan, doc, "plan.json")


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ({"solver": {"backend": 3}}, "plan.solver.backend"),
        ({"aggregation": "exact"}, "plan.aggregation: expected a mapping"),
        ({"iterations": [{"stage": "service_floor"}, {"iteration": "x"}]}, "plan.iterations[1].iteration"),
        # a check is read as the kind whose keys it has
        ({"reason": {"checks": [{"check": "supply", "peak_tokens_per_s": "a"}]}}, "checks[0].peak_tokens_per_s"),
        ({"sites": [{"site": "hall-a", "power": {"binding": "often"}}]}, "plan.sites[0].power.binding"),
    ],
)
def test_a_wrong_value_is_named_where_it_is(doc, where):
    with pytest.raises(ScenarioError) as exc:
        check_document("plan", FleetPlan, doc, "plan.json")
    assert any(where in line for line in [str(exc.value), *exc.value.problems])


def test_validation_reliability_rows_are_checked_by_the_keys_present():
    check_document("validation", FleetSimResult, {"reliability": {"gb200-nvl72": {"failures": 2}}}, "v.json")
    with pytest.raises(ScenarioError, match="1 problem"):
        check_document("validation", FleetSimResult, {"reliability": {"gb200-nvl72": {"failures": "two"}}}, "v.json")
