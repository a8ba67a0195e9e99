"""The nouns of labelyard: project bases, job statuses, batch status and statistics."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime


class Base(enum.StrEnum):
    """The kind of data a project's jobs carry."""

    IMAGE = "IMAGE"
    SEGMENTATION = "SEGMENTATION"
    VIDEO = "VIDEO"
    SENSOR_FUSION = "SENSOR_FUSION"
    POINT_CLOUD_SEGMENTATION = "POINT_CLOUD_SEGMENTATION"


class JobStatus(enum.StrEnum):
    """Where a job is in its life."""

    CREATED = "created"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ABORTED = "aborted"


class JobType(enum.StrEnum):
    """TEST jobs are gold-standard checks; NON_TEST jobs are real work."""

    TEST = "TEST"
    NON_TEST = "NON_TEST"


DEFAULT_PRIORITY = 5
DEFAULT_WORKFLOW_STEPS = ("annotate", "review")
DEFAULT_WORKFLOW_NAME = "Default workflow"
DEFAULT_WORKFLOW_TAG = "default"
DEFAULT_BATCH_NAME = "Default batch"


@dataclass(frozen=True, slots=True)
class BatchCounters:
    """The counters kept on a batch row, updated in the transaction of each change."""

    total_jobs: int = 0
    completed_jobs: int = 0
    aborted_jobs: int = 0
    in_progress_jobs: int = 0
    total_frames: int = 0
    completed_frames: int = 0
    annotations: int = 0

    @property
    def status(self) -> str:
        """``Inactive`` with no jobs, ``Complete`` when every non-aborted job is completed."""
        if self.total_jobs == 0:
            return "Inactive"
        if self.completed_jobs + self.aborted_jobs >= self.total_jobs:
            return "Complete"
        return "Active"


@dataclass(frozen=True, slots=True)
class ProjectStats:
    """A project's totals, summed over its batches' counters (never over its jobs)."""

    total_batches: int
    completed_batches: int
    total_jobs: int
    completed_jobs: int
    total_frames: int
    completed_frames: int
    annotations: int

    @classmethod
    def from_batches(cls, batches: Iterable[BatchCounters]) -> ProjectStats:
        """Sum the counters of a project's batches."""
        items = list(batches)
        return cls(
            total_batches=len(items),
            completed_batches=sum(1 for b in items if b.status == "Complete"),
            total_jobs=sum(b.total_jobs for b in items),
            completed_jobs=sum(b.completed_jobs for b in items),
            total_frames=sum(b.total_frames for b in items),
            completed_frames=sum(b.completed_frames for b in items),
            annotations=sum(b.annotations for b in items),
        )


@dataclass(frozen=True, slots=True)
class Project:
    """A project as the API layer sees it after authorisation."""

    id: str
    account_id: str
    name: str
    base: Base
    key_id: str = ""
    """The API key that was authorised ("" where the caller is not a key: the web UI)."""


@dataclass(frozen=True, slots=True)
class ProjectKey:
    """The project a request names and the ``x-api-key`` it came with, not yet checked: reads
    that check the key in the same statement take this instead of a ``Project``."""

    project_id: str
    api_key: str | None


def as_utc(moment: datetime) -> datetime:
    """``moment`` with its zone; naive values (SQLite hands those back) are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def rfc3339(moment: datetime) -> str:
    """RFC 3339 with offset."""
    return as_utc(moment).isoformat()
