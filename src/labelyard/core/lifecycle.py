"""How a job moves through its workflow: steps, who may work them, what each action does.

A workflow is an ordered list of steps, each ``annotate`` or ``review``. Steps are named by
their kind, numbered when a kind repeats (``annotate``, ``review``, ``review_2``). Submitting an
annotate step or accepting a review step moves the job to the next step, or completes it after
the last. Rejecting sends it back to a named earlier step (by default the nearest earlier
annotate step).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from labelyard.core.model import JobStatus
from labelyard.errors import Conflict, Forbidden, InvalidInput

ANNOTATE, REVIEW = "annotate", "review"
STEP_KINDS = (ANNOTATE, REVIEW)
ROLES = {"annotator": {ANNOTATE}, "reviewer": {REVIEW}, "both": {ANNOTATE, REVIEW}}
MIN_LEASE_SECONDS, MAX_LEASE_SECONDS = 1, 24 * 3600


@dataclass(frozen=True, slots=True)
class Route:
    """A workflow's steps."""

    kinds: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Step names: the kind, suffixed ``_2``, ``_3``... when a kind repeats."""
        seen: dict[str, int] = {}
        names = []
        for kind in self.kinds:
            seen[kind] = seen.get(kind, 0) + 1
            names.append(kind if seen[kind] == 1 else f"{kind}_{seen[kind]}")
        return tuple(names)

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


def check_role(role: str, step: str) -> None:
    """A worker may work only the step kinds of its role."""
    if step not in STEP_KINDS:
        raise InvalidInput("step must be 'annotate' or 'review'")
    if step not in ROLES.get(role, set()):
        raise Forbidden(f"a worker with role {role!r} may not work {step!r} steps")


def lease_until(now: datetime, seconds: object, default: int) -> datetime:
    """When a lease taken ``now`` for ``seconds`` (or the default) expires."""
    if seconds is None:
        seconds = default
    if type(seconds) is not int or not MIN_LEASE_SECONDS <= seconds <= MAX_LEASE_SECONDS:
        raise InvalidInput(
            f"lease_seconds must be an integer from {MIN_LEASE_SECONDS} to {MAX_LEASE_SECONDS}"
        )
    return now + timedelta(seconds=seconds)


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
    if status in (JobStatus.COMPLETED, JobStatus.ABORTED):
        raise Conflict(f"the job is {status}")
