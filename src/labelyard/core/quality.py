"""A project's quality rules: who may claim what, where rejects go, gold, sampling, consensus.

The rules are one JSON document per project (``project.quality``), parsed here into
``QualitySettings``; an absent key takes its default, so an old project follows the defaults:

    key                  default   meaning
    allow_self_review    false     may a worker review a job they annotated (in any step)
    rejected_to          "first"   "same": only the annotator gets a rejected job back;
                                   "first": offered to them before other jobs, open to anyone;
                                   "anyone": back into the open queue
    reject_reasons       []        the error types a reviewer picks from when rejecting
    pools                {}        {"annotate"|"review": group_id}: the step kind is limited to
                                   that group's members
    gold_rate            0         the chance that an annotate claim serves a gold job first
    sampling             null      {"full_until": N, "rate": r}: review everything of an
                                   annotator until N of their jobs were accepted, then a
                                   fraction r; unsampled jobs skip the review steps that follow
    overlap              1         N independent annotations per job (consensus when N > 1)
    agreement_threshold  0.8       consensus at or above it moves on; below it goes to review

Each decision is a pure function; the random draws are passed in (a seeded generator in tests).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from labelyard.errors import Forbidden, InvalidInput

REJECTED_TO = ("same", "first", "anyone")
MAX_REJECT_REASONS = 50
MAX_OVERLAP = 10
MAX_FULL_UNTIL = 1_000_000
GOLD_QUEUE = "gold"  # the queue column of a gold (TEST) job waiting in its annotate step
POOL_KINDS = ("annotate", "review")
MAX_NAME_LENGTH = 255  # as core.validation's (which imports the state machine, so not from it)


def require_name(value: object, what: str) -> str:
    """A non-blank string of at most ``MAX_NAME_LENGTH`` characters."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_LENGTH:
        raise InvalidInput(f"{what} must be a string of 1 to {MAX_NAME_LENGTH} characters")
    return value


@dataclass(frozen=True, slots=True)
class Sampling:
    """Review every job of an annotator until ``full_until`` of theirs were accepted, then
    a fraction ``rate`` of them."""

    full_until: int
    rate: float

    def to_json(self) -> dict[str, Any]:
        """The rule as the API shows it."""
        return {"full_until": self.full_until, "rate": self.rate}


@dataclass(frozen=True, slots=True)
class QualitySettings:
    """A project's quality rules (see the module docstring)."""

    allow_self_review: bool = False
    rejected_to: str = "first"
    reject_reasons: tuple[str, ...] = ()
    pools: Mapping[str, str] = field(default_factory=dict)
    gold_rate: float = 0.0
    sampling: Sampling | None = None
    overlap: int = 1
    agreement_threshold: float = 0.8

    def to_json(self) -> dict[str, Any]:
        """The document stored on the project and shown by the API."""
        return {
            "allow_self_review": self.allow_self_review,
            "rejected_to": self.rejected_to,
            "reject_reasons": list(self.reject_reasons),
            "pools": dict(self.pools),
            "gold_rate": self.gold_rate,
            "sampling": self.sampling.to_json() if self.sampling else None,
            "overlap": self.overlap,
            "agreement_threshold": self.agreement_threshold,
        }


def _fraction(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{what} must be a number from 0 to 1")
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise InvalidInput(f"{what} must be a number from 0 to 1")
    return number


def _count(value: object, what: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise InvalidInput(f"{what} must be an integer from {low} to {high}")
    return value


def _sampling(value: object) -> Sampling | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"full_until", "rate"}:
        raise InvalidInput("sampling must be null or {'full_until': n, 'rate': r}")
    return Sampling(
        full_until=_count(value.get("full_until", 0), "sampling.full_until", 0, MAX_FULL_UNTIL),
        rate=_fraction(value.get("rate", 1.0), "sampling.rate"),
    )


def _reasons(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_REJECT_REASONS:
        raise InvalidInput(f"reject_reasons must be a list of at most {MAX_REJECT_REASONS} names")
    names = [require_name(item, "reject_reasons[]") for item in value]
    if len(set(names)) != len(names):
        raise InvalidInput("reject_reasons must not repeat a name")
    return tuple(names)


def _pools(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidInput("pools must be an object {step kind: group_id}")
    pools: dict[str, str] = {}
    for kind, group in value.items():
        if kind not in POOL_KINDS:
            raise InvalidInput("pools keys must be 'annotate' or 'review'")
        if group is None:
            continue
        if not isinstance(group, str) or not group or len(group) > MAX_NAME_LENGTH:
            raise InvalidInput("pools values must be group ids")
        pools[kind] = group
    return pools


_PARSERS: Mapping[str, Any] = {
    "allow_self_review": lambda v: _flag(v, "allow_self_review"),
    "rejected_to": lambda v: _choice(v),
    "reject_reasons": _reasons,
    "pools": _pools,
    "gold_rate": lambda v: _fraction(v, "gold_rate"),
    "sampling": _sampling,
    "overlap": lambda v: _count(v, "overlap", 1, MAX_OVERLAP),
    "agreement_threshold": lambda v: _fraction(v, "agreement_threshold"),
}


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{what} must be true or false")
    return value


def _choice(value: object) -> str:
    if value not in REJECTED_TO:
        raise InvalidInput(f"rejected_to must be one of {', '.join(REJECTED_TO)}")
    return str(value)


def parse_settings(stored: object) -> QualitySettings:
    """The settings stored on a project (NULL: the defaults)."""
    if stored is None:
        return QualitySettings()
    return update_settings(QualitySettings(), stored)


def update_settings(current: QualitySettings, patch: object) -> QualitySettings:
    """``current`` with the keys of ``patch`` replaced (each validated; unknown keys refused)."""
    if not isinstance(patch, dict):
        raise InvalidInput("body must be a JSON object")
    unknown = sorted(set(patch) - set(_PARSERS))
    if unknown:
        raise InvalidInput(f"unknown setting {unknown[0]!r}; known: {', '.join(_PARSERS)}")
    values = {key: _PARSERS[key](value) for key, value in patch.items()}
    return replace(current, **values)


# --- Claims --------------------------------------------------------------------------------------


def check_pool(settings: QualitySettings, kind: str, groups: Sequence[str]) -> None:
    """A step kind limited to a group may be claimed only by that group's members."""
    pool = settings.pools.get(kind)
    if pool is not None and pool not in groups:
        raise Forbidden(f"{kind!r} steps of this project are limited to the group {pool}")


@dataclass(frozen=True, slots=True)
class ClaimRules:
    """The filters a claim applies in the database (``store.work.next_free_job``)."""

    queue: str
    worker_id: str
    groups: tuple[str, ...] = ()
    # Leave out jobs this worker annotated (review claims without self-review; gold jobs).
    not_annotated: bool = False
    # Leave out jobs this worker already gave a version of (consensus rounds).
    not_versioned: bool = False


def claim_plan(
    settings: QualitySettings,
    *,
    kind: str,
    worker_id: str,
    groups: Sequence[str],
    draw: float,
) -> list[ClaimRules]:
    """The queues a claim of ``kind`` looks in, in order, each with its filters.

    An annotate claim looks in the gold queue first when ``draw`` (uniform in [0, 1)) falls
    under the gold rate; a gold job is never served twice to one worker.
    """
    check_pool(settings, kind, groups)
    mine = tuple(groups)
    if kind == "review":
        return [
            ClaimRules(
                queue="review",
                worker_id=worker_id,
                groups=mine,
                not_annotated=not settings.allow_self_review,
            )
        ]
    work = ClaimRules(
        queue="annotate", worker_id=worker_id, groups=mine, not_versioned=settings.overlap > 1
    )
    if draw < settings.gold_rate:
        gold = ClaimRules(queue=GOLD_QUEUE, worker_id=worker_id, groups=mine, not_annotated=True)
        return [gold, work]
    return [work]


def batch_claim_plan(
    settings: QualitySettings,
    *,
    kind: str,
    worker_id: str,
    groups: Sequence[str],
    draws: Sequence[float],
) -> list[tuple[ClaimRules, int]]:
    """The looks of a claim of ``len(draws)`` jobs, each with at most how many jobs it serves.

    Each draw is one job's draw of ``claim_plan``: every draw under the gold rate lets one gold
    job in first; the annotate (or review) queue fills the rest.
    """
    count = len(draws)
    gold = sum(1 for draw in draws if draw < settings.gold_rate)
    plan = claim_plan(
        settings, kind=kind, worker_id=worker_id, groups=groups, draw=0.0 if gold else 1.0
    )
    return [(rules, gold if rules.queue == GOLD_QUEUE else count) for rules in plan]


# --- Rejects -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who may claim a job in its current step: a worker, a group, or (both None) anyone.

    ``only``: the worker alone may claim it; otherwise it is offered to them first.
    """

    worker_id: str | None = None
    group_id: str | None = None
    only: bool = False

    def columns(self) -> dict[str, Any]:
        """The job columns that hold it."""
        return {
            "assigned_worker": self.worker_id,
            "assigned_group": self.group_id,
            "assigned_only": self.only if self.worker_id else False,
        }


UNASSIGNED = Assignment()


def after_reject(settings: QualitySettings, annotator: str | None) -> Assignment:
    """Who gets a rejected job back: its last annotator (only, or first), or anyone."""
    if annotator is None or settings.rejected_to == "anyone":
        return UNASSIGNED
    return Assignment(worker_id=annotator, only=settings.rejected_to == "same")


def parse_reject_reasons(settings: QualitySettings, value: object) -> tuple[str, ...]:
    """The error types a reject carries: names from the project's list, without repeats."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput("reasons must be a list of the project's reject reasons")
    reasons: list[str] = []
    for item in value:
        if item not in settings.reject_reasons:
            known = ", ".join(settings.reject_reasons) or "none are set"
            raise InvalidInput(f"reason {item!r} is not one of the project's ({known})")
        if item not in reasons:
            reasons.append(item)
    return tuple(reasons)


# --- Review sampling -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampleDecision:
    """Whether a submission goes to review, and the rule that decided (for the history)."""

    review: bool
    rule: str


def sample(sampling: Sampling | None, *, accepted: int, draw: float) -> SampleDecision:
    """Decide review for an annotator's submission: ``accepted`` of theirs were accepted so far;
    ``draw`` is uniform in [0, 1)."""
    if sampling is None:
        return SampleDecision(True, "no sampling: every job is reviewed")
    if accepted < sampling.full_until:
        return SampleDecision(
            True, f"full review until {sampling.full_until} accepted ({accepted} so far)"
        )
    percent = f"{sampling.rate * 100:g}%"
    if draw < sampling.rate:
        return SampleDecision(True, f"sampled at {percent} after {sampling.full_until} accepted")
    return SampleDecision(False, f"not sampled at {percent} after {sampling.full_until} accepted")
