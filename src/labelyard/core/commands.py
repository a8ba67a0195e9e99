"""What a request asks for, parsed from its JSON body into small typed commands.

Services take these, never raw bodies; every bound comes from ``core.lifecycle`` so the API
schemas, the web UI and the services agree. Each parser raises ``InvalidInput`` (or the error
API.md names) for the first bad field and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from labelyard.core import events, lifecycle, quality
from labelyard.core.ids import require_uuid
from labelyard.core.validation import MAX_NAME_LENGTH, MAX_TEXT_LENGTH, require_name, require_text
from labelyard.errors import InvalidInput, MissingParameter, NotFound

MAX_COMMENT_LENGTH = MAX_TEXT_LENGTH  # a reviewer's comment, a skip reason
MAX_REASONS = 50  # reject reasons on one reject
T = TypeVar("T")


def _object(body: object, *, empty_ok: bool = True) -> dict[str, Any]:
    if body is None and empty_ok:
        return {}
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    return body


def text(value: object, what: str, *, max_length: int, required: bool = False) -> str | None:
    """An optional string of at most ``max_length`` characters; None when absent."""
    if value is None:
        if required:
            raise MissingParameter(f"{what} is required")
        return None
    return require_text(value, what, max_length)


def lease_seconds(value: object) -> int | None:
    """A lease length in seconds, or None for the server's default."""
    if value is None:
        return None
    low, high = lifecycle.MIN_LEASE_SECONDS, lifecycle.MAX_LEASE_SECONDS
    if type(value) is not int or not low <= value <= high:
        raise InvalidInput(f"lease_seconds must be an integer from {low} to {high}")
    return value


MAX_CLAIM_COUNT = 100  # jobs one claim may lease, and items one list submit or review may carry


@dataclass(frozen=True, slots=True)
class Claim:
    """Lease the next free job of a step, or up to ``count`` of them (a batch claim)."""

    step: str = lifecycle.ANNOTATE
    lease_seconds: int | None = None
    # None: one job, answered as the job itself; 1..100: a list of up to that many jobs.
    count: int | None = None


def parse_claim(body: object) -> Claim:
    """``{"step"?, "lease_seconds"?, "count"?}``."""
    fields = _object(body)
    step = fields.get("step", lifecycle.ANNOTATE)
    if step not in lifecycle.STEP_KINDS:
        raise InvalidInput("step must be 'annotate' or 'review'")
    count = fields.get("count")
    if "count" in fields and (type(count) is not int or not 1 <= count <= MAX_CLAIM_COUNT):
        raise InvalidInput(f"count must be an integer from 1 to {MAX_CLAIM_COUNT}")
    return Claim(step=step, lease_seconds=lease_seconds(fields.get("lease_seconds")), count=count)


def parse_heartbeat(body: object) -> int | None:
    """``{"lease_seconds"?}``: the new lease length, or None for the default."""
    fields = body if isinstance(body, dict) else {}
    return lease_seconds(fields.get("lease_seconds"))


@dataclass(frozen=True, slots=True)
class Work:
    """Annotations handed in (a draft or a submission); validated against the job later."""

    annotations: Any


def parse_work(body: object) -> Work:
    """``{"annotations": ...}``."""
    fields = _object(body, empty_ok=False)
    if "annotations" not in fields:
        raise InvalidInput("annotations: required")
    return Work(annotations=fields["annotations"])


def parse_skip(body: object) -> str | None:
    """``{"reason"?}``: why the worker gives the job back."""
    fields = body if isinstance(body, dict) else {}
    return text(fields.get("reason"), "reason", max_length=MAX_COMMENT_LENGTH)


@dataclass(frozen=True, slots=True)
class Review:
    """A review decision: accept (with corrected annotations, or the draft as is) or reject."""

    decision: Literal["accept", "reject"]
    comment: str | None = None
    # accept: corrected annotations, or None to accept the draft as it is.
    annotations: Any = None
    # reject: the earlier step to send the job to (None: the nearest annotate step).
    step: str | None = None
    # reject: the error types (checked against the project's list by the service).
    reasons: tuple[str, ...] = ()


def parse_review(body: object) -> Review:
    """``{"decision": "accept"|"reject", "comment"?, "annotations"?, "step"?}``."""
    fields = _object(body, empty_ok=False)
    decision = fields.get("decision")
    if decision not in ("accept", "reject"):
        raise InvalidInput("decision must be 'accept' or 'reject'")
    comment = text(fields.get("comment"), "comment", max_length=MAX_COMMENT_LENGTH)
    if decision == "accept":
        return Review(decision="accept", comment=comment, annotations=fields.get("annotations"))
    step = fields.get("step")
    reasons = fields.get("reasons")
    if reasons is not None and (
        not isinstance(reasons, list)
        or len(reasons) > MAX_REASONS
        or not all(isinstance(r, str) for r in reasons)
    ):
        raise InvalidInput(f"reasons must be a list of at most {MAX_REASONS} reason names")
    return Review(
        decision="reject",
        comment=comment,
        step=step if isinstance(step, str) else None,
        reasons=tuple(reasons or ()),
    )


def parse_reopen(body: object) -> str | None:
    """``{"step"?}``: the step to reopen a job into (None: the first)."""
    fields = _object(body, empty_ok=False)
    step = fields.get("step")
    if step in (None, ""):
        return None
    if not isinstance(step, str):
        raise InvalidInput("step must be a string")
    return step


def parse_priority(body: object) -> int:
    """``{"priority_weight"}``."""
    return lifecycle.priority(body.get("priority_weight") if isinstance(body, dict) else None)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Extend the lease (None: by the server's default)."""

    lease_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    """Save work in progress."""

    annotations: Any


@dataclass(frozen=True, slots=True)
class Submit:
    """Hand in an annotate step's work."""

    annotations: Any


@dataclass(frozen=True, slots=True)
class Skip:
    """Give the job back, with why."""

    reason: str | None = None


JobAction = Heartbeat | Draft | Submit | Skip | Review
JOB_ACTIONS = ("heartbeat", "draft", "submit", "skip", "review")


def _work_list(body: object, parse: Callable[[object], T]) -> list[tuple[str, T]]:
    """``{"jobs": [{"job_id", ...the single call's body}...]}``: at most 100 items, each job
    once. Any malformed item refuses the whole list (the error names the item); what depends
    on the job is answered per item by the service."""
    items = _jobs_list(body, most=MAX_CLAIM_COUNT)
    parsed: list[tuple[str, T]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise InvalidInput("must be a JSON object")
            job_id = require_uuid(item.get("job_id"), "job_id")
            if job_id in seen:
                raise InvalidInput(f"job_id {job_id} appears more than once")
            seen.add(job_id)
            parsed.append((job_id, parse(item)))
        except (InvalidInput, MissingParameter) as error:
            raise type(error)(f"jobs[{index}]: {error.message}") from error
    return parsed


def parse_submit_list(body: object) -> list[tuple[str, Work]]:
    """``{"jobs": [{"job_id", "annotations"}...]}``: a list submit (see ``_work_list``)."""
    return _work_list(body, parse_work)


def parse_review_list(body: object) -> list[tuple[str, Review]]:
    """``{"jobs": [{"job_id", "decision", ...}...]}``: a list review (see ``_work_list``)."""
    return _work_list(body, parse_review)


def parse_job_action(action: str, body: object) -> JobAction:
    """The worker API's action on a held job (``.../jobs/{job_id}/{action}``) and its body."""
    if action == "heartbeat":
        return Heartbeat(parse_heartbeat(body))
    if action == "draft":
        return Draft(parse_work(body).annotations)
    if action == "submit":
        return Submit(parse_work(body).annotations)
    if action == "skip":
        return Skip(parse_skip(body))
    if action == "review":
        return parse_review(body)
    raise NotFound("no such route")


@dataclass(frozen=True, slots=True)
class WebhookCreate:
    """A new webhook endpoint."""

    url: str
    event_types: list[str]
    description: str


def parse_webhook_create(body: object) -> WebhookCreate:
    """``{"url", "event_types"?, "description"?}``."""
    fields = _object(body, empty_ok=False)
    if fields.get("url") in (None, ""):
        raise MissingParameter("url is required")
    return WebhookCreate(
        url=events.parse_url(fields["url"]),
        event_types=events.parse_event_types(fields.get("event_types", [events.ALL])),
        description=require_text(fields.get("description"), "description"),
    )


@dataclass(frozen=True, slots=True)
class WebhookUpdate:
    """What to change of an endpoint; None leaves a field as it is."""

    url: str | None = None
    event_types: list[str] | None = None
    description: str | None = None
    enabled: bool | None = None


def parse_webhook_update(body: object) -> WebhookUpdate:
    """``{"url"?, "event_types"?, "description"?, "enabled"?}``."""
    fields = _object(body, empty_ok=False)
    enabled = fields.get("enabled")
    if "enabled" in fields and not isinstance(enabled, bool):
        raise InvalidInput("enabled must be true or false")
    return WebhookUpdate(
        url=events.parse_url(fields["url"]) if "url" in fields else None,
        event_types=(
            events.parse_event_types(fields["event_types"]) if "event_types" in fields else None
        ),
        description=(
            require_text(fields["description"], "description") if "description" in fields else None
        ),
        enabled=enabled,
    )


@dataclass(frozen=True, slots=True)
class Redeliver:
    """Deliver one event again (``event_id``), or every failed delivery (``failed``)."""

    event_id: str | None = None
    failed: bool = False


def parse_redeliver(body: object) -> Redeliver:
    """``{"event_id"}`` or ``{"failed": true}``."""
    fields = _object(body, empty_ok=False)
    if fields.get("failed") is True:
        return Redeliver(failed=True)
    return Redeliver(event_id=require_uuid(fields.get("event_id"), "event_id"))


def parse_callback(body: object) -> str | None:
    """``{"callback_url"}``: the legacy callback's URL, or None to remove it (null or "")."""
    fields = _object(body, empty_ok=False)
    if "callback_url" not in fields:
        raise MissingParameter("callback_url is required")
    url = fields["callback_url"]
    return None if url in (None, "") else events.parse_url(url)


MAX_BULK_JOBS = 10_000


def parse_bulk(body: object) -> list[object]:
    """``{"jobs": [<create body>...]}`` (at most 10,000); each item is validated on its own."""
    return _jobs_list(body, most=MAX_BULK_JOBS)


def _jobs_list(body: object, *, most: int) -> list[object]:
    """The ``jobs`` list of a ``{"jobs": [...]}`` body, at most ``most`` items."""
    fields = _object(body, empty_ok=False)
    items = fields.get("jobs")
    if items is None:
        raise MissingParameter("jobs is required")
    if not isinstance(items, list):
        raise InvalidInput("jobs must be a list")
    if len(items) > most:
        raise InvalidInput(f"at most {most} jobs per call")
    return items


@dataclass(frozen=True, slots=True)
class BatchCreate:
    """A new batch."""

    name: str
    description: str = ""
    label: str = ""


def parse_batch_create(body: object) -> BatchCreate:
    """``{"name", "description"?, "label"?}`` (API.md 3.1)."""
    fields = _object(body, empty_ok=False)
    if fields.get("name") in (None, ""):
        raise MissingParameter("name is required")
    name = require_name(fields["name"])
    description = text(fields.get("description"), "description", max_length=MAX_TEXT_LENGTH)
    label = text(fields.get("label"), "label", max_length=MAX_NAME_LENGTH)
    return BatchCreate(name=name, description=description or "", label=label or "")


MAX_GROUP_MEMBERS = 10_000


def parse_assign(body: object) -> quality.Assignment:
    """``{"worker_id"?, "group_id"?, "only"?}``: who may claim the job(s) in their current
    step; neither (or both null) unassigns. ``only`` (default true): the worker alone, else
    the job is offered to them first."""
    fields = _object(body)
    worker = fields.get("worker_id")
    group = fields.get("group_id")
    only = fields.get("only", True)
    if not isinstance(only, bool):
        raise InvalidInput("only must be true or false")
    if worker is not None and group is not None:
        raise InvalidInput("assign to a worker or to a group, not both")
    return quality.Assignment(
        worker_id=require_uuid(worker, "worker_id") if worker is not None else None,
        group_id=require_uuid(group, "group_id") if group is not None else None,
        only=only if worker is not None else False,
    )


def parse_group_create(body: object) -> str:
    """``{"name"}``: a new worker group's name."""
    fields = _object(body, empty_ok=False)
    if fields.get("name") in (None, ""):
        raise MissingParameter("name is required")
    return require_name(fields["name"])


def parse_members(body: object) -> list[str]:
    """``{"worker_ids": [...]}``: a group's members (replacing the current ones)."""
    fields = _object(body, empty_ok=False)
    items = fields.get("worker_ids")
    if not isinstance(items, list) or len(items) > MAX_GROUP_MEMBERS:
        raise InvalidInput(f"worker_ids must be a list of at most {MAX_GROUP_MEMBERS} worker ids")
    return sorted({require_uuid(item, "worker_ids[]") for item in items})
