"""The job state machine: statuses, steps, who may act, and what each action changes.

A workflow is an ordered list of steps, each ``annotate`` or ``review``. Steps are named by
their kind, numbered when a kind repeats (``annotate``, ``review``, ``review_2``).

    action  from (status, step)               to                                counters
    claim   created|in_progress, free step s  in_progress, s, leased to the worker
    submit  in_progress, annotate s, lease    next step free, or completed      +completed
    accept  in_progress, review s, lease      next step free, or completed      +completed
    reject  in_progress, review s, lease      an earlier step free, comment kept
    skip    in_progress, s, lease             same step free; not offered to them again
    abort   created|in_progress               aborted, out of every queue       +aborted
    reopen  completed|aborted                 in_progress, a named step free    -completed|-aborted
    assign  created|in_progress               same step; who may claim it changes
    imported created (just inserted)          completed, with the source's result +completed

The quality rules (``core.quality``) shape these: a submission may skip its review (sampling),
a gold job's submission is scored and the job waits for the next annotator, a consensus job
collects N versions before it moves on, a reject carries reasons and goes back to its
annotator. Every rule that decided is written in the transition's ``detail``.

Each action is one pure function taking the job's state and returning a ``Change`` that says
everything that moves: the status, the step, the lease, further columns, the batch counters
and whether a result file is written. A move into or out of ``in_progress`` also moves the
batch's ``in_progress_jobs`` (``batch_deltas``): created = total - in progress - completed -
aborted, so the owner's progress bars are read off the batch rows. ``services.lifecycle.apply``
is the one place that writes a change (the job row, its transition record, the counters and the
events, together).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from labelyard.core import annotations as notes
from labelyard.core.agreement import Consensus, GoldScore
from labelyard.core.model import DEFAULT_WORKFLOW_STEPS, Base, JobStatus
from labelyard.core.quality import GOLD_QUEUE, UNASSIGNED, Assignment, SampleDecision
from labelyard.errors import Conflict, Forbidden, InvalidInput, InvalidPriority

ANNOTATE, REVIEW = "annotate", "review"
STEP_KINDS = (ANNOTATE, REVIEW)
ROLES: Mapping[str, frozenset[str]] = {
    "annotator": frozenset({ANNOTATE}),
    "reviewer": frozenset({REVIEW}),
    "both": frozenset({ANNOTATE, REVIEW}),
}
OPEN_STATUSES = (JobStatus.CREATED.value, JobStatus.IN_PROGRESS.value)
CLOSED_STATUSES = (JobStatus.COMPLETED.value, JobStatus.ABORTED.value)
JOB_STATUSES = tuple(status.value for status in JobStatus)
MIN_PRIORITY, MAX_PRIORITY = 1, 10
MIN_LEASE_SECONDS, MAX_LEASE_SECONDS = 1, 24 * 3600
_IN_PROGRESS = JobStatus.IN_PROGRESS.value
# The job columns that a lease release clears.
_FREE = {"lease_holder": None, "lease_expires_at": None}


@functools.lru_cache(maxsize=1024)
def _step_names(kinds: tuple[str, ...]) -> tuple[str, ...]:
    # Asked for every job a list call writes (a step's name in its transition and its
    # rollups), from the few workflows a server has.
    seen: dict[str, int] = {}
    names = []
    for kind in kinds:
        seen[kind] = seen.get(kind, 0) + 1
        names.append(kind if seen[kind] == 1 else f"{kind}_{seen[kind]}")
    return tuple(names)


@dataclass(frozen=True, slots=True)
class Route:
    """A workflow's steps."""

    kinds: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Step names: the kind, suffixed ``_2``, ``_3``... when a kind repeats."""
        return _step_names(self.kinds)

    def name_of(self, index: int) -> str:
        """The name of step ``index``."""
        return self.names[index]

    def next_of(self, index: int) -> int | None:
        """The step after ``index``, or None when ``index`` is the last (the job completes)."""
        return index + 1 if index + 1 < len(self.kinds) else None

    def reject_target(self, index: int, name: str | None) -> int:
        """Where a rejection at review step ``index`` sends the job."""
        if name:
            names = self.names
            if name not in names[:index]:
                allowed = ", ".join(names[:index]) or "none"
                raise InvalidInput(f"step must name an earlier step ({allowed}), not {name!r}")
            return names.index(name)
        for earlier in range(index - 1, -1, -1):
            if self.kinds[earlier] == ANNOTATE:
                return earlier
        raise InvalidInput("this workflow has no earlier annotate step to send the job back to")

    def index_of(self, name: str) -> int:
        """The index of the step called ``name``."""
        if name not in self.names:
            raise InvalidInput(f"step must be one of {', '.join(self.names)}")
        return self.names.index(name)


@dataclass(frozen=True, slots=True)
class JobState:
    """What the machine needs to know of a job."""

    status: str
    route: Route
    step_index: int
    in_queue: bool
    frames: int
    annotations: int
    lease_holder: str | None = None
    lease_expires_at: datetime | None = None
    gold: bool = False  # a TEST job: scored against its answer, never completed

    @property
    def step_kind(self) -> str:
        """The kind of the job's current step."""
        return self.route.kinds[self.step_index]

    @property
    def step_name(self) -> str | None:
        """The name of the job's current step; None once it left the workflow."""
        return self.route.name_of(self.step_index) if self.in_queue else None


@dataclass(frozen=True, slots=True)
class Change:
    """What an action does to a job: apply all of it, in one transaction, or none."""

    action: str
    to_status: str
    # The step the job is in afterwards; None when it leaves the workflow (completed, aborted).
    to_index: int | None
    worker_id: str | None = None
    comment: str | None = None
    # Further job columns to set (the lease, the draft, the reviewer's comment...).
    columns: Mapping[str, Any] = field(default_factory=dict)
    # Deltas of the batch's counters.
    counters: Mapping[str, int] = field(default_factory=dict)
    # The result document to write before the job is marked completed.
    result: Mapping[str, Any] | None = None
    # The worker who skipped the job (it is not offered to them again).
    skipped_by: str | None = None
    # The worker whose annotate work this is (they never review the job; gold once each).
    annotated_by: str | None = None
    # What decided, for the transition's ``detail`` (sampling rule, reasons, score, agreement).
    detail: Mapping[str, Any] | None = None
    # A gold submission's score (of ``annotated_by``).
    gold: GoldScore | None = None
    # The workers whose annotate work was accepted (their accepted tally grows by one), or
    # rejected (their rejected tally grows).
    credit: tuple[str, ...] = ()
    blame: tuple[str, ...] = ()
    # A consensus version handed in by ``annotated_by``; ``clear_versions`` starts a new round.
    version: Any = None
    clear_versions: bool = False
    # A closed consensus round: each version's annotator and its agreement with the others.
    agreements: Mapping[str, float] = field(default_factory=dict)

    def job_columns(self, route: Route, *, gold: bool = False) -> dict[str, Any]:
        """Every job column this change sets (the service adds ``updated_at``)."""
        values: dict[str, Any] = {"status": self.to_status}
        if self.to_index is not None:
            values["step_index"] = self.to_index
            kind = route.kinds[self.to_index]
            values["queue"] = GOLD_QUEUE if gold and kind == ANNOTATE else kind
        elif self.to_status in CLOSED_STATUSES:
            values["queue"] = None
        values.update(self.columns)
        return values


def batch_deltas(change: Change, *, from_status: str, gold: bool) -> dict[str, int]:
    """The batch-counter deltas of ``change`` made to a job in ``from_status``: the change's own
    and the move into or out of ``in_progress`` (gold jobs count in none of them)."""
    deltas = dict(change.counters)
    if gold:
        return deltas
    moved = int(change.to_status == _IN_PROGRESS) - int(from_status == _IN_PROGRESS)
    if moved:
        deltas["in_progress_jobs"] = deltas.get("in_progress_jobs", 0) + moved
    return deltas


def parse_statuses(value: object, *, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A status filter: one job status, a comma-separated list or a JSON list of them, sorted
    and without repeats; ``default`` when absent or empty."""
    if value is None or value == "" or value == []:
        return default
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise InvalidInput("status must be a job status or a list of them")
    statuses = sorted({item.strip() for item in items if item.strip()})
    for status in statuses:
        if status not in JOB_STATUSES:
            raise InvalidInput(f"status {status!r} is not one of {', '.join(JOB_STATUSES)}")
    return tuple(statuses) or default


def parse_steps(value: object) -> list[str]:
    """Workflow steps: a list (or comma-separated string) of ``annotate`` / ``review``."""
    if value is None:
        return list(DEFAULT_WORKFLOW_STEPS)
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise InvalidInput("steps must be a non-empty list of 'annotate' and 'review'")
    steps = [str(step).strip() for step in items]
    if any(step not in STEP_KINDS for step in steps):
        raise InvalidInput("each step must be 'annotate' or 'review'")
    if steps[0] != ANNOTATE:
        raise InvalidInput("a workflow starts with an 'annotate' step")
    return steps


def priority(value: object) -> int:
    """A ``priority_weight``: an integer from 1 to 10 (``FS_00012`` otherwise)."""
    if type(value) is not int or not MIN_PRIORITY <= value <= MAX_PRIORITY:
        raise InvalidPriority()
    return value


def check_role(role: str, step: str) -> None:
    """A worker may work only the step kinds of its role."""
    if step not in STEP_KINDS:
        raise InvalidInput("step must be 'annotate' or 'review'")
    if step not in ROLES.get(role, frozenset()):
        raise Forbidden(f"a worker with role {role!r} may not work {step!r} steps")


def kinds_of_role(role: str) -> list[str]:
    """The step kinds a worker of ``role`` may work, in workflow order."""
    return [kind for kind in STEP_KINDS if kind in ROLES.get(role, frozenset())]


def lease_until(now: datetime, seconds: int | None, default: int) -> datetime:
    """When a lease taken ``now`` for ``seconds`` (or the default) expires."""
    return now + timedelta(seconds=default if seconds is None else seconds)


def check_lease(
    holder: str | None, expires_at: datetime | None, worker_id: str, now: datetime
) -> None:
    """Only the holder of an unexpired lease may act on a job."""
    if holder != worker_id or expires_at is None or expires_at <= now:
        raise Conflict(
            "you do not hold a lease on this job (it expired or was never yours); claim again"
        )


def check_open(status: str) -> None:
    """Workers act only on jobs that are neither completed nor aborted."""
    if status in CLOSED_STATUSES:
        raise Conflict(f"the job is {status}")


def check_held(job: JobState, worker_id: str, now: datetime) -> datetime:
    """``Conflict`` unless the job is open and leased to ``worker_id``; the lease's end."""
    check_open(job.status)
    check_lease(job.lease_holder, job.lease_expires_at, worker_id, now)
    assert job.lease_expires_at is not None  # check_lease refuses a job without a live lease
    return job.lease_expires_at


def check_step(job: JobState, kind: str) -> None:
    """The action of a ``kind`` step (submit for annotate, review for review) fits the job."""
    if job.step_kind != kind:
        if job.step_kind == ANNOTATE:
            raise InvalidInput("this job is in an annotate step: use .../submit")
        raise InvalidInput("this job is in a review step: use .../review")


def claim(job: JobState, *, worker_id: str, until: datetime, draft: Any) -> Change:
    """A free job of a step is leased to a worker, starting from ``draft``."""
    check_open(job.status)
    return Change(
        action="claim",
        to_status=JobStatus.IN_PROGRESS.value,
        to_index=job.step_index,
        worker_id=worker_id,
        columns={"lease_holder": worker_id, "lease_expires_at": until, "draft": draft},
    )


def _advance(
    job: JobState,
    *,
    base: Base,
    data: Mapping[str, Any],
    action: str,
    annotations: Any,
    worker_id: str,
    comment: str | None,
    now: datetime,
    skip_review: bool = False,
    detail: Mapping[str, Any] | None = None,
    annotated_by: str | None = None,
    credit: tuple[str, ...] = (),
    extra: Mapping[str, Any] | None = None,
) -> Change:
    """The job moves past its current step: to the next one (past the review steps that follow
    when ``skip_review``), or completed after the last."""
    next_index = job.route.next_of(job.step_index)
    while skip_review and next_index is not None and job.route.kinds[next_index] == REVIEW:
        next_index = job.route.next_of(next_index)
    common: dict[str, Any] = {
        "action": action,
        "worker_id": worker_id,
        "comment": comment,
        "detail": detail,
        "annotated_by": annotated_by,
        "credit": credit,
        **(extra or {}),
    }
    if next_index is not None:
        return Change(
            to_status=JobStatus.IN_PROGRESS.value,
            to_index=next_index,
            columns={**_FREE, **UNASSIGNED.columns(), "draft": annotations},
            **common,
        )
    objects = notes.count(base, annotations)
    return Change(
        to_status=JobStatus.COMPLETED.value,
        to_index=None,
        columns={
            **_FREE,
            **UNASSIGNED.columns(),
            "draft": annotations,
            "annotations": objects,
            "completed_at": now,
        },
        counters={"completed_jobs": 1, "completed_frames": job.frames, "annotations": objects},
        result=notes.result_document(base, dict(data), annotations),
        **common,
    )


def submit(
    job: JobState,
    *,
    base: Base,
    data: Mapping[str, Any],
    annotations: Any,
    worker_id: str,
    now: datetime,
    sampled: SampleDecision | None = None,
) -> Change:
    """An annotate step's work is handed in (``annotations`` already validated).

    With review sampling, ``sampled`` says whether the review steps that follow are worked;
    the rule that decided goes into the transition's detail.
    """
    check_step(job, ANNOTATE)
    next_index = job.route.next_of(job.step_index)
    reviewed = next_index is not None and job.route.kinds[next_index] == REVIEW
    decided = sampled if reviewed else None
    return _advance(
        job,
        base=base,
        data=data,
        action="submit",
        annotations=annotations,
        worker_id=worker_id,
        comment=None,
        now=now,
        skip_review=decided is not None and not decided.review,
        detail={"sampling": decided.rule, "sampled": decided.review} if decided else None,
        annotated_by=worker_id,
        # Work that skips review counts as accepted for the annotator's tally.
        credit=(worker_id,) if decided is not None and not decided.review else (),
    )


def submit_gold(job: JobState, *, worker_id: str, score: GoldScore) -> Change:
    """A gold job's submission is scored; the job waits, fresh, for the next annotator."""
    check_step(job, ANNOTATE)
    return Change(
        action="submit",
        to_status=job.status,
        to_index=job.step_index,
        worker_id=worker_id,
        columns={**_FREE, "draft": None},
        annotated_by=worker_id,
        gold=score,
        detail={"gold_score": score.score, **score.parts()},
    )


def submit_version(
    job: JobState,
    *,
    base: Base,
    data: Mapping[str, Any],
    annotations: Any,
    worker_id: str,
    now: datetime,
    earlier: list[Any],
    overlap: int,
    threshold: float,
    merge: Consensus | None,
    earlier_workers: Sequence[str] = (),
) -> Change:
    """One of ``overlap`` independent annotations of a consensus job is handed in.

    Until the last one arrives the job waits, with a fresh draft, for another annotator. With
    the last, ``merge`` (of ``earlier`` + this one) decides: at or above ``threshold`` the merged
    annotations move past the review steps that follow; below, the job goes to review with the
    merge as its draft and the versions shown side by side.
    """
    check_step(job, ANNOTATE)
    count = len(earlier) + 1
    if count < overlap or merge is None:
        return Change(
            action="submit",
            to_status=JobStatus.IN_PROGRESS.value,
            to_index=job.step_index,
            worker_id=worker_id,
            # A group assignment holds for the next versions; a worker gave theirs.
            columns={**_FREE, "assigned_worker": None, "assigned_only": False, "draft": None},
            annotated_by=worker_id,
            version=annotations,
            detail={"version": count, "overlap": overlap},
        )
    agreed = merge.agreement >= threshold
    next_index = job.route.next_of(job.step_index)
    to_review = next_index is not None and job.route.kinds[next_index] == REVIEW
    annotators = [*earlier_workers, worker_id]
    agreements = (
        dict(zip(annotators, merge.per_version, strict=True))
        if len(annotators) == len(merge.per_version)
        else {}
    )
    return replace(
        _advance(
            job,
            base=base,
            data=data,
            action="submit",
            annotations=merge.merged,
            worker_id=worker_id,
            comment=None,
            now=now,
            skip_review=agreed,
            detail={
                "version": count,
                "overlap": overlap,
                "agreement": merge.agreement,
                # A list, not an object keyed by worker id: the hosted SDK reads keys as names.
                "agreements": [
                    {"worker_id": w, "agreement": value} for w, value in agreements.items()
                ],
                "threshold": threshold,
                "consensus": "agreed: merged result moves on"
                if agreed
                else ("below threshold: to review" if to_review else "below threshold, no review"),
            },
            annotated_by=worker_id,
            extra={"version": annotations},
        ),
        agreements=agreements,
    )


def accept(
    job: JobState,
    *,
    base: Base,
    data: Mapping[str, Any],
    annotations: Any,
    worker_id: str,
    comment: str | None,
    now: datetime,
    annotators: tuple[str, ...] = (),
) -> Change:
    """A review step accepts the work (``annotations``: the corrected or the saved draft);
    the job's ``annotators`` are credited with an accepted job."""
    check_step(job, REVIEW)
    return _advance(
        job,
        base=base,
        data=data,
        action="accept",
        annotations=annotations,
        worker_id=worker_id,
        comment=comment,
        now=now,
        credit=annotators,
    )


def reject(
    job: JobState,
    *,
    step: str | None,
    worker_id: str,
    comment: str | None,
    reasons: tuple[str, ...] = (),
    back_to: Assignment = UNASSIGNED,
    clear_versions: bool = False,
    annotators: tuple[str, ...] = (),
) -> Change:
    """A review step sends the job back to an earlier step with a comment and the reasons
    (error types); ``back_to`` says who may claim it there."""
    check_step(job, REVIEW)
    target = job.route.reject_target(job.step_index, step)
    if job.route.kinds[target] != ANNOTATE:
        back_to = UNASSIGNED  # back to an earlier review: the annotator may not review it
    detail: dict[str, Any] = {}
    if reasons:
        detail["reasons"] = list(reasons)
    if back_to.worker_id:
        detail["back_to"] = back_to.worker_id
        detail["only"] = back_to.only
    return Change(
        action="reject",
        to_status=JobStatus.IN_PROGRESS.value,
        to_index=target,
        worker_id=worker_id,
        comment=comment,
        columns={
            **_FREE,
            **back_to.columns(),
            "comment": comment,
            "reject_reasons": list(reasons) or None,
        },
        detail=detail or None,
        clear_versions=clear_versions,
        blame=annotators,
    )


def assign(job: JobState, *, to: Assignment) -> Change:
    """The owner sets who may claim an unfinished job in its current step (or anyone)."""
    if job.status not in OPEN_STATUSES:
        raise Conflict(f"the job is {job.status}; only created or in-progress jobs can be assigned")
    detail = {"worker_id": to.worker_id, "group_id": to.group_id}
    return Change(
        action="assign" if to.worker_id or to.group_id else "unassign",
        to_status=job.status,
        to_index=job.step_index,
        columns=to.columns(),
        detail=detail,
    )


def skip(job: JobState, *, worker_id: str, reason: str | None) -> Change:
    """The worker gives the job back; it stays in its step and is not offered to them again."""
    check_open(job.status)
    return Change(
        action="skip",
        to_status=job.status,
        to_index=job.step_index,
        worker_id=worker_id,
        comment=reason,
        columns=dict(_FREE),
        skipped_by=worker_id,
    )


def abort(job: JobState) -> Change:
    """The owner stops a job that is not finished; it never gets a result."""
    if job.status not in OPEN_STATUSES:
        raise Conflict(f"the job is {job.status}; only created or in-progress jobs can be aborted")
    return Change(
        action="abort",
        to_status=JobStatus.ABORTED.value,
        to_index=None,
        columns=dict(_FREE),
        # Gold jobs are not among the batch's jobs (see services.jobs), so not among its aborted.
        counters={} if job.gold else {"aborted_jobs": 1},
    )


def reopen(job: JobState, *, step: str | None) -> Change:
    """The owner sends a completed or aborted job back into a step of its workflow."""
    if job.status in OPEN_STATUSES:
        raise Conflict(f"the job is {job.status}; only completed or aborted jobs can be reopened")
    index = job.route.index_of(step or job.route.name_of(0))
    if job.gold:
        counters: dict[str, int] = {}
    elif job.status == JobStatus.COMPLETED.value:
        counters = {
            "completed_jobs": -1,
            "completed_frames": -job.frames,
            "annotations": -job.annotations,
        }
    else:
        counters = {"aborted_jobs": -1}
    return Change(
        action="reopen",
        to_status=JobStatus.IN_PROGRESS.value,
        to_index=index,
        columns={**_FREE, "annotations": 0, "result_key": None, "completed_at": None},
        counters=counters,
    )


def import_completed(
    job: JobState,
    *,
    base: Base,
    annotations: Any,
    result: Mapping[str, Any],
    now: datetime,
) -> Change:
    """A job just created by an import (``labelyard pull``) that was completed where it came
    from: it is completed here too, with that result (``annotations`` its objects, ``result``
    the result document as the source served it, masks inlined as PNGs)."""
    if job.status != JobStatus.CREATED.value or job.step_index != 0:
        raise Conflict(f"the job is {job.status}; only a job just created can be imported")
    objects = notes.count(base, annotations)
    return Change(
        action="imported",
        to_status=JobStatus.COMPLETED.value,
        to_index=None,
        columns={**_FREE, "draft": annotations, "annotations": objects, "completed_at": now},
        counters={"completed_jobs": 1, "completed_frames": job.frames, "annotations": objects},
        result=result,
    )
