"""What the client returns: frozen dataclasses named after API.md's objects.

Each is read from a response's ``data`` by ``from_json``, which keeps the fields it knows and
ignores the rest, so a newer server that adds fields does not break an older client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    D = TypeVar("D", bound=DataclassInstance)


def _pick(cls: type[D], data: Mapping[str, Any]) -> D:
    """An instance of the dataclass ``cls`` from the keys of ``data`` it has fields for."""
    return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


@dataclass(frozen=True, slots=True)
class CreatedJob:
    """The answer to a job create (API.md 3.2): new, or the existing job of an identical replay."""

    job_id: str
    reference_id: str
    work_flow_id: str
    tag: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return _pick(cls, data)


@dataclass(frozen=True, slots=True)
class ItemError:
    """Why one job of a bulk create was not created."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """What happened to one job of a bulk create (API.md 4), in input order.

    ``created`` is True for a new job and False for one that was already there (an identical
    replay); ``error`` is set, and ``job_id`` None, for a rejected one.
    """

    reference_id: str | None
    job_id: str | None = None
    created: bool = False
    error: ItemError | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        error = data.get("error")
        return cls(
            reference_id=data.get("reference_id"),
            job_id=data.get("job_id"),
            created=data.get("created") is True,
            error=ItemError(str(error.get("code")), str(error.get("message"))) if error else None,
        )


@dataclass(frozen=True, slots=True)
class Job:
    """A job and, once it is completed, the private URL of its result (API.md 3.6)."""

    project_id: str
    reference_id: str
    job_id: str
    batch_id: str
    status: str
    work_flow_id: str
    priority_weight: int
    tag: str
    result: str  # "" until the job is completed

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return _pick(cls, data)


@dataclass(frozen=True, slots=True)
class BatchJob:
    """A job as a batch listing shows it (API.md 3.5)."""

    id: str
    reference_id: str
    status: str
    frames: int
    annotations: int
    priority_weight: int
    tag: str
    viewer_url: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return _pick(cls, data)


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch and its counters (API.md 3.3); ``created_at`` is RFC 3339."""

    id: str
    name: str
    description: str
    is_default: bool
    total_jobs: int
    completed_jobs: int
    total_frames: int
    completed_frames: int
    annotations: int
    created_at: str
    status: str  # Inactive, Active or Complete

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return _pick(cls, data)


@dataclass(frozen=True, slots=True)
class ProjectStats:
    """A project's totals over its batches (API.md 3.4)."""

    name: str
    base: str
    total_batches: int
    completed_batches: int
    total_jobs: int
    completed_jobs: int
    total_frames: int
    completed_frames: int
    annotations: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return _pick(cls, data)


@dataclass(frozen=True, slots=True)
class ProjectDetails:
    """A project and its batches (API.md 3.3)."""

    name: str
    base: str
    batches: tuple[Batch, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        batches = tuple(Batch.from_json(item) for item in data.get("batches", ()))
        return cls(name=data["name"], base=data["base"], batches=batches)

    def batch(self, batch_id: str) -> Batch | None:
        """The batch with this id, if the project has it."""
        return next((batch for batch in self.batches if batch.id == batch_id), None)

    def batch_named(self, name: str) -> Batch | None:
        """The batch called ``name``, if there is one (names are unique in a project)."""
        return next((batch for batch in self.batches if batch.name == name), None)
