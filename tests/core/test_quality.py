"""The quality rules: settings, claim plans, rejects, sampling, and the state machine's new
actions (gold, consensus versions, sampled submits, assignment)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labelyard.core import lifecycle, quality
from labelyard.core.agreement import consensus, score_gold
from labelyard.core.lifecycle import JobState, Route
from labelyard.core.model import Base
from labelyard.core.quality import Assignment, Sampling, parse_settings, sample, update_settings
from labelyard.errors import Conflict, Forbidden, InvalidInput

NOW = datetime(2026, 12, 1, tzinfo=UTC)
EMPTY = {"rectangles": [], "polygons": [], "lines": [], "landmarks": [], "cuboids": []}


def job(kinds: tuple[str, ...] = ("annotate", "review"), index: int = 0, **kw: object) -> JobState:
    return JobState(
        status="in_progress",
        route=Route(kinds),
        step_index=index,
        in_queue=True,
        frames=1,
        annotations=0,
        **kw,  # type: ignore[arg-type]
    )


def test_defaults_and_patches() -> None:
    settings = parse_settings(None)
    assert settings.to_json()["allow_self_review"] is False
    assert settings.rejected_to == "first"
    changed = update_settings(
        settings, {"gold_rate": 0.25, "sampling": {"full_until": 5, "rate": 0.2}}
    )
    assert changed.gold_rate == 0.25 and changed.sampling == Sampling(5, 0.2)
    assert parse_settings(changed.to_json()) == changed


@pytest.mark.parametrize(
    "patch",
    [
        {"gold_rate": 1.5},
        {"gold_rate": True},
        {"overlap": 0},
        {"rejected_to": "boss"},
        {"reject_reasons": ["a", "a"]},
        {"pools": {"deploy": "g"}},
        {"sampling": {"rate": 2}},
        {"colour": 1},
        [],
    ],
)
def test_bad_settings_are_refused(patch: object) -> None:
    with pytest.raises(InvalidInput):
        update_settings(parse_settings(None), patch)


def test_review_claims_leave_out_own_work_unless_allowed() -> None:
    settings = parse_settings(None)
    [rules] = quality.claim_plan(settings, kind="review", worker_id="w", groups=[], draw=0.0)
    assert rules.not_annotated
    allowed = update_settings(settings, {"allow_self_review": True})
    [rules] = quality.claim_plan(allowed, kind="review", worker_id="w", groups=[], draw=0.0)
    assert not rules.not_annotated


def test_gold_is_looked_at_first_when_the_draw_falls_under_the_rate() -> None:
    settings = update_settings(parse_settings(None), {"gold_rate": 0.3})
    plan = quality.claim_plan(settings, kind="annotate", worker_id="w", groups=[], draw=0.29)
    assert [r.queue for r in plan] == ["gold", "annotate"]
    assert plan[0].not_annotated
    plan = quality.claim_plan(settings, kind="annotate", worker_id="w", groups=[], draw=0.3)
    assert [r.queue for r in plan] == ["annotate"]


def test_a_pool_limits_a_step_to_its_group() -> None:
    settings = update_settings(parse_settings(None), {"pools": {"review": "g1"}})
    with pytest.raises(Forbidden):
        quality.claim_plan(settings, kind="review", worker_id="w", groups=["g2"], draw=0)
    assert quality.claim_plan(settings, kind="review", worker_id="w", groups=["g1"], draw=0)
    assert quality.claim_plan(settings, kind="annotate", worker_id="w", groups=[], draw=0)


def test_rejected_jobs_go_back_by_the_setting() -> None:
    for mode, expected in (
        ("same", Assignment("a", None, True)),
        ("first", Assignment("a", None, False)),
        ("anyone", quality.UNASSIGNED),
    ):
        settings = update_settings(parse_settings(None), {"rejected_to": mode})
        assert quality.after_reject(settings, "a") == expected


def test_reject_reasons_come_from_the_project_list() -> None:
    settings = update_settings(parse_settings(None), {"reject_reasons": ["missed", "loose box"]})
    assert quality.parse_reject_reasons(settings, ["loose box", "missed", "missed"]) == (
        "loose box",
        "missed",
    )
    with pytest.raises(InvalidInput):
        quality.parse_reject_reasons(settings, ["typo"])


def test_sampling_reviews_everything_until_the_threshold_then_a_fraction() -> None:
    rule = Sampling(full_until=2, rate=0.2)
    assert sample(rule, accepted=1, draw=0.99).review
    assert "until 2 accepted (1 so far)" in sample(rule, accepted=1, draw=0.99).rule
    assert sample(rule, accepted=2, draw=0.19).review
    skipped = sample(rule, accepted=2, draw=0.2)
    assert not skipped.review and "not sampled at 20%" in skipped.rule
    assert sample(None, accepted=0, draw=0.5).review


def test_an_unsampled_submit_completes_and_records_the_rule() -> None:
    decided = sample(Sampling(0, 0.0), accepted=0, draw=0.5)
    change = lifecycle.submit(
        job(), base=Base.IMAGE, data={}, annotations=EMPTY, worker_id="a", now=NOW, sampled=decided
    )
    assert change.to_status == "completed"
    assert change.detail == {"sampling": decided.rule, "sampled": False}
    assert change.credit == ("a",) and change.annotated_by == "a"
    sampled = lifecycle.submit(
        job(),
        base=Base.IMAGE,
        data={},
        annotations=EMPTY,
        worker_id="a",
        now=NOW,
        sampled=sample(Sampling(1, 0.0), accepted=0, draw=0.5),
    )
    assert sampled.to_index == 1 and sampled.detail and sampled.detail["sampled"] is True


def test_a_gold_submit_is_scored_and_the_job_waits_again() -> None:
    state = job(gold=True)
    change = lifecycle.submit_gold(state, worker_id="a", score=score_gold(EMPTY, EMPTY))
    assert (change.to_status, change.to_index) == ("in_progress", 0)
    assert change.job_columns(state.route, gold=True)["queue"] == "gold"
    assert change.gold is not None and change.gold.score == 1.0
    assert change.counters == {} and change.result is None


def test_gold_jobs_leave_the_batch_counters_alone() -> None:
    aborted = lifecycle.abort(job(gold=True))
    assert aborted.counters == {}
    assert lifecycle.abort(job()).counters == {"aborted_jobs": 1}
    back = JobState("aborted", Route(("annotate",)), 0, False, 1, 0, gold=True)
    assert lifecycle.reopen(back, step=None).counters == {}


def test_consensus_versions_collect_then_move_on_or_go_to_review() -> None:
    first = lifecycle.submit_version(
        job(), base=Base.IMAGE, data={}, annotations=EMPTY, worker_id="a", now=NOW,
        earlier=[], overlap=3, threshold=0.8, merge=None,
    )  # fmt: skip
    assert first.to_index == 0 and first.version == EMPTY and first.columns["draft"] is None
    assert first.columns["assigned_worker"] is None and "assigned_group" not in first.columns
    agreed = lifecycle.submit_version(
        job(), base=Base.IMAGE, data={}, annotations=EMPTY, worker_id="c", now=NOW,
        earlier=[EMPTY, EMPTY], overlap=3, threshold=0.8, merge=consensus([EMPTY] * 3),
    )  # fmt: skip
    assert agreed.to_status == "completed"
    low = consensus([EMPTY, {**EMPTY, "rectangles": [_box()]}, EMPTY])
    disputed = lifecycle.submit_version(
        job(), base=Base.IMAGE, data={}, annotations=EMPTY, worker_id="c", now=NOW,
        earlier=[EMPTY, EMPTY], overlap=3, threshold=0.8, merge=low,
    )  # fmt: skip
    assert disputed.to_index == 1 and disputed.detail
    assert disputed.detail["consensus"] == "below threshold: to review"


def _box() -> dict[str, object]:
    return {
        "_id": "b",
        "label": "car",
        "attributes": {},
        "coordinates": [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 1, "y": 1}, {"x": 0, "y": 1}],
    }


def test_reject_carries_reasons_and_assignment() -> None:
    change = lifecycle.reject(
        job(index=1),
        step=None,
        worker_id="r",
        comment="see boxes",
        reasons=("missed",),
        back_to=Assignment("a", None, True),
        annotators=("a",),
    )
    assert change.columns["reject_reasons"] == ["missed"]
    assert change.columns["assigned_worker"] == "a" and change.columns["assigned_only"] is True
    assert change.detail == {"reasons": ["missed"], "back_to": "a", "only": True}
    assert change.blame == ("a",)


def test_a_reject_to_an_earlier_review_is_open_to_any_reviewer() -> None:
    change = lifecycle.reject(
        job(("annotate", "review", "review"), index=2),
        step="review",
        worker_id="r2",
        comment=None,
        back_to=Assignment("a", None, True),
    )
    assert change.to_index == 1 and change.columns["assigned_worker"] is None


def test_assign_is_for_unfinished_jobs() -> None:
    change = lifecycle.assign(job(), to=Assignment(None, "g", False))
    assert change.action == "assign" and change.columns["assigned_group"] == "g"
    assert lifecycle.assign(job(), to=quality.UNASSIGNED).action == "unassign"
    done = JobState("completed", Route(("annotate",)), 0, False, 1, 0)
    with pytest.raises(Conflict):
        lifecycle.assign(done, to=quality.UNASSIGNED)


def test_a_batch_claim_lets_one_gold_job_in_per_draw_under_the_rate() -> None:
    settings = quality.QualitySettings(gold_rate=0.3)
    plan = quality.batch_claim_plan(
        settings, kind="annotate", worker_id="w", groups=(), draws=[0.1, 0.9, 0.29, 0.5]
    )
    assert [(rules.queue, most) for rules, most in plan] == [("gold", 2), ("annotate", 4)]
    assert plan[0][0].not_annotated
    plain = quality.batch_claim_plan(
        settings, kind="annotate", worker_id="w", groups=(), draws=[0.9, 0.5]
    )
    assert [(rules.queue, most) for rules, most in plain] == [("annotate", 2)]
    review = quality.batch_claim_plan(
        quality.QualitySettings(gold_rate=1.0), kind="review", worker_id="w", groups=(), draws=[0.0]
    )
    assert [(rules.queue, most, rules.not_annotated) for rules, most in review] == [
        ("review", 1, True)
    ]
