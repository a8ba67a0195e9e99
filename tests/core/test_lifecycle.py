"""Workflow routes and the rules of who may act on a job, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from labelyard.core import commands, lifecycle
from labelyard.core.lifecycle import JobState, Route, check_lease, check_role, lease_until
from labelyard.core.model import Base
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
    assert lease_until(NOW, commands.lease_seconds(60), 900) == NOW + timedelta(seconds=60)
    for bad in (0, -1, 86401, "60", 1.5, True):
        with pytest.raises(InvalidInput):
            commands.lease_seconds(bad)
    check_lease("w1", NOW + timedelta(seconds=1), "w1", NOW)
    for holder, expires in (("w2", NOW + timedelta(seconds=9)), ("w1", NOW), ("w1", None)):
        with pytest.raises(Conflict):
            check_lease(holder, expires, "w1", NOW)


# The state machine, action by action, with no database.

ROUTE = Route(("annotate", "review"))


def job(**overrides: object) -> JobState:
    values: dict[str, object] = {
        "status": "in_progress",
        "route": ROUTE,
        "step_index": 0,
        "in_queue": True,
        "frames": 3,
        "annotations": 0,
        "lease_holder": "w1",
        "lease_expires_at": NOW + timedelta(minutes=5),
    }
    values.update(overrides)
    return JobState(**values)  # type: ignore[arg-type]


ANNOTATIONS = {"rectangles": [], "polygons": [], "lines": [], "landmarks": [], "cuboids": []}
DATA = {"image_url": "https://example.com/a.jpg"}


def test_claim_leases_the_job_in_its_step_with_the_starting_draft() -> None:
    until = NOW + timedelta(minutes=15)
    change = lifecycle.claim(job(status="created"), worker_id="w1", until=until, draft={"x": 1})
    assert change.action == "claim" and change.to_status == "in_progress"
    assert change.job_columns(ROUTE) == {
        "status": "in_progress",
        "step_index": 0,
        "queue": "annotate",
        "lease_holder": "w1",
        "lease_expires_at": until,
        "draft": {"x": 1},
    }
    assert not change.counters and change.result is None


def test_submit_moves_to_the_next_step_free_and_keeps_the_work() -> None:
    change = lifecycle.submit(
        job(), base=Base.IMAGE, data=DATA, annotations=ANNOTATIONS, worker_id="w1", now=NOW
    )
    assert change.to_index == 1 and change.to_status == "in_progress"
    columns = change.job_columns(ROUTE)
    assert columns["queue"] == "review" and columns["lease_holder"] is None
    assert columns["draft"] == ANNOTATIONS and change.result is None and not change.counters


def test_accept_at_the_last_step_completes_with_a_result_and_counters() -> None:
    work = {**ANNOTATIONS, "rectangles": [{"_id": "a"}, {"_id": "b"}]}
    change = lifecycle.accept(
        job(step_index=1),
        base=Base.IMAGE,
        data=DATA,
        annotations=work,
        worker_id="w2",
        comment="fine",
        now=NOW,
    )
    assert change.to_status == "completed" and change.to_index is None
    assert change.counters == {"completed_jobs": 1, "completed_frames": 3, "annotations": 2}
    assert change.job_columns(ROUTE)["queue"] is None
    assert change.job_columns(ROUTE)["completed_at"] == NOW
    assert change.result is not None and change.comment == "fine"


def test_submit_and_review_refuse_the_other_kind_of_step() -> None:
    with pytest.raises(InvalidInput, match=r"use \.\.\./review"):
        lifecycle.submit(
            job(step_index=1),
            base=Base.IMAGE,
            data=DATA,
            annotations=ANNOTATIONS,
            worker_id="w1",
            now=NOW,
        )
    with pytest.raises(InvalidInput, match=r"use \.\.\./submit"):
        lifecycle.reject(job(), step=None, worker_id="w1", comment=None)


def test_reject_sends_back_with_the_comment_and_frees_the_job() -> None:
    change = lifecycle.reject(job(step_index=1), step=None, worker_id="w2", comment="tighter")
    assert change.to_index == 0
    assert change.job_columns(ROUTE)["comment"] == "tighter"
    assert change.job_columns(ROUTE)["lease_holder"] is None


def test_skip_keeps_the_step_and_remembers_the_worker() -> None:
    change = lifecycle.skip(job(), worker_id="w1", reason="blurry")
    assert change.to_index == 0 and change.to_status == "in_progress"
    assert change.skipped_by == "w1" and change.comment == "blurry"


def test_abort_only_open_jobs_and_counts_them() -> None:
    change = lifecycle.abort(job(status="created"))
    assert change.to_status == "aborted" and change.counters == {"aborted_jobs": 1}
    assert change.job_columns(ROUTE)["queue"] is None
    for closed in ("completed", "aborted"):
        with pytest.raises(Conflict):
            lifecycle.abort(job(status=closed))


def test_reopen_undoes_the_counters_of_what_it_reopens() -> None:
    done = lifecycle.reopen(job(status="completed", annotations=4, in_queue=False), step="review")
    assert done.to_index == 1
    assert done.counters == {"completed_jobs": -1, "completed_frames": -3, "annotations": -4}
    assert done.job_columns(ROUTE)["result_key"] is None
    aborted = lifecycle.reopen(job(status="aborted", in_queue=False), step=None)
    assert aborted.to_index == 0 and aborted.counters == {"aborted_jobs": -1}
    with pytest.raises(Conflict):
        lifecycle.reopen(job(), step=None)
    with pytest.raises(InvalidInput):
        lifecycle.reopen(job(status="aborted"), step="qa")


def test_batch_deltas_move_the_in_progress_count_with_the_status() -> None:
    fresh = job(status="created", lease_holder=None, lease_expires_at=None)
    claimed = lifecycle.claim(fresh, worker_id="w1", until=NOW, draft=None)
    assert lifecycle.batch_deltas(claimed, from_status="created", gold=False) == {
        "in_progress_jobs": 1
    }
    # A claim of an in-progress job (an expired lease, a later step) moves nothing.
    assert lifecycle.batch_deltas(claimed, from_status="in_progress", gold=False) == {}
    aborted = lifecycle.abort(job())
    assert lifecycle.batch_deltas(aborted, from_status="in_progress", gold=False) == {
        "aborted_jobs": 1,
        "in_progress_jobs": -1,
    }
    assert lifecycle.batch_deltas(aborted, from_status="created", gold=False) == {"aborted_jobs": 1}
    reopened = lifecycle.reopen(job(status="aborted", in_queue=False), step=None)
    assert lifecycle.batch_deltas(reopened, from_status="aborted", gold=False) == {
        "aborted_jobs": -1,
        "in_progress_jobs": 1,
    }
    # Gold jobs are in none of a batch's counters.
    assert lifecycle.batch_deltas(claimed, from_status="created", gold=True) == {}


def test_only_the_lease_holder_may_act_on_an_open_job() -> None:
    assert lifecycle.check_held(job(), "w1", NOW) == NOW + timedelta(minutes=5)
    with pytest.raises(Conflict):
        lifecycle.check_held(job(), "w2", NOW)
    with pytest.raises(Conflict):
        lifecycle.check_held(job(status="completed"), "w1", NOW)
