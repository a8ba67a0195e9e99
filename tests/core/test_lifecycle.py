"""Workflow routes and the rules of who may act on a job, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from labelyard.core.lifecycle import Route, check_lease, check_role, lease_until
from labelyard.errors import Conflict, Forbidden, InvalidInput

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_step_names_number_repeated_kinds() -> None:
    route = Route(("annotate", "review", "annotate", "review", "review"))
    assert route.names == ("annotate", "review", "annotate_2", "review_2", "review_3")
    assert route.next_of(0) == 1 and route.next_of(4) is None


def test_reject_goes_to_nearest_earlier_annotate_or_a_named_earlier_step() -> None:
    route = Route(("annotate", "review", "annotate", "review", "review"))
    assert route.reject_target(4, None) == 2
    assert route.reject_target(4, "annotate") == 0
    assert route.reject_target(4, "review_2") == 3
    with pytest.raises(InvalidInput):
        route.reject_target(1, "review_2")  # not earlier
    with pytest.raises(InvalidInput):
        route.reject_target(1, "nope")


def test_roles() -> None:
    check_role("both", "annotate")
    check_role("reviewer", "review")
    with pytest.raises(Forbidden):
        check_role("annotator", "review")
    with pytest.raises(InvalidInput):
        check_role("both", "qa")


def test_leases() -> None:
    assert lease_until(NOW, None, 900) == NOW + timedelta(seconds=900)
    for bad in (0, -1, 86401, "60", 1.5, True):
        with pytest.raises(InvalidInput):
            lease_until(NOW, bad, 900)
    check_lease("w1", NOW + timedelta(seconds=1), "w1", NOW)
    for holder, expires in (("w2", NOW + timedelta(seconds=9)), ("w1", NOW), ("w1", None)):
        with pytest.raises(Conflict):
            check_lease(holder, expires, "w1", NOW)
