"""Request bodies as the OpenAPI document shows them.

Bodies are parsed and validated by ``labelyard.core`` (so every violation gets API.md's own error
code, not a framework 422); these models only describe them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from labelyard.core.commands import MAX_BULK_JOBS, MAX_CLAIM_COUNT, MAX_COMMENT_LENGTH
from labelyard.core.lifecycle import (
    MAX_LEASE_SECONDS,
    MAX_PRIORITY,
    MIN_LEASE_SECONDS,
    MIN_PRIORITY,
)
from labelyard.core.model import DEFAULT_PRIORITY


class BatchCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    description: str | None = None
    label: str | None = None


class JobCreate(BaseModel):
    reference_id: str = Field(min_length=1, max_length=255)
    data: dict[str, Any] = Field(description="job data; its shape depends on the project's base")
    work_flow_id: str | None = None
    tag: str | None = Field(default=None, description="workflow id or tag; one of the two")
    batch_id: str | None = Field(default=None, description="absent, null or '' → Default batch")
    priority_weight: int | None = Field(default=DEFAULT_PRIORITY, ge=MIN_PRIORITY, le=MAX_PRIORITY)
    type: Literal["TEST", "NON_TEST"] | None = "NON_TEST"


class BulkJobCreate(BaseModel):
    jobs: list[JobCreate] = Field(max_length=MAX_BULK_JOBS)


class CompletedJobCreate(JobCreate):
    annotations: Any = Field(description="the job's objects in labelyard's annotation layout")


class BulkCompletedCreate(BaseModel):
    jobs: list[CompletedJobCreate] = Field(max_length=MAX_BULK_JOBS)


class MigrationCreate(BaseModel):
    source_url: str = Field(description="the hosted-API server's base URL")
    api_key: str = Field(description="an API key of the source project's account (kept sealed)")
    project: str = Field(description="the source project's id")
    into: str | None = Field(default=None, description="pull into this project (else a new one)")
    concurrency: int = Field(default=8, ge=1, le=256)
    data_from: list[dict[str, Any]] | None = Field(
        default=None, description="create payloads by reference_id, for jobs not completed"
    )


class AccountCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    base: Literal["IMAGE", "SEGMENTATION", "VIDEO", "SENSOR_FUSION", "POINT_CLOUD_SEGMENTATION"]
    account_id: str | None = None


class WorkflowCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    tag: str | None = None
    steps: list[Literal["annotate", "review"]] | None = None


class QualityUpdate(BaseModel):
    allow_self_review: bool | None = None
    rejected_to: Literal["same", "first", "anyone"] | None = None
    reject_reasons: list[str] | None = None
    pools: dict[Literal["annotate", "review"], str | None] | None = None
    gold_rate: float | None = Field(default=None, ge=0, le=1)
    sampling: dict[str, float] | None = Field(
        default=None, description="{'full_until': n, 'rate': r} or null"
    )
    overlap: int | None = Field(default=None, ge=1, le=10)
    agreement_threshold: float | None = Field(default=None, ge=0, le=1)


class GroupCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)


class GroupMembers(BaseModel):
    worker_ids: list[str]


class Assign(BaseModel):
    worker_id: str | None = Field(default=None, description="a worker of the account")
    group_id: str | None = Field(default=None, description="a group of the project")
    only: bool = Field(default=True, description="the worker alone (false: offered first)")


class JobReopen(BaseModel):
    step: str | None = Field(default=None, description="step name; default the first step")


class JobPriority(BaseModel):
    priority_weight: int = Field(ge=MIN_PRIORITY, le=MAX_PRIORITY)


class AttributeSpec(BaseModel):
    name: str
    type: Literal["select", "multiselect", "text", "number", "boolean"]
    options: list[str] = []
    required: bool = False


class ClassSpec(BaseModel):
    name: str
    shapes: list[Literal["rectangle", "polygon", "line", "landmark", "cuboid"]] | None = None
    tracked: bool | None = None
    attributes: list[AttributeSpec] = []


class SchemaSet(BaseModel):
    classes: list[ClassSpec]


class WorkerCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    role: Literal["annotator", "reviewer", "both"]


class StorageCreate(BaseModel):
    scheme: Literal["s3", "gs"]
    endpoint_url: str | None = Field(default=None, description="empty for AWS S3; gs: GCS XML API")
    region: str | None = None
    bucket_prefix: str = Field(min_length=1, max_length=255, description="bucket[/folder]")
    access_key_id: str = Field(min_length=1, max_length=255)
    secret_access_key: str = Field(min_length=1, description="sealed at rest, never returned")


class WorkerLogin(BaseModel):
    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=8)


class Claim(BaseModel):
    step: Literal["annotate", "review"] = "annotate"
    lease_seconds: int | None = Field(default=None, ge=MIN_LEASE_SECONDS, le=MAX_LEASE_SECONDS)
    count: int | None = Field(
        default=None,
        ge=1,
        le=MAX_CLAIM_COUNT,
        description="absent: one job as data (204 when none is free); 1..100: up to that many "
        "jobs, leased in one transaction, as data.jobs (an empty list when none is free)",
    )


class Heartbeat(BaseModel):
    lease_seconds: int | None = Field(default=None, ge=MIN_LEASE_SECONDS, le=MAX_LEASE_SECONDS)


class Annotations(BaseModel):
    annotations: Any = Field(
        description="IMAGE/SEGMENTATION: {rectangles, polygons, lines, landmarks, cuboids}; "
        "VIDEO/SENSOR_FUSION/POINT_CLOUD_SEGMENTATION: a list of trackers"
    )


class Skip(BaseModel):
    reason: str | None = Field(default=None, max_length=MAX_COMMENT_LENGTH)


class Review(BaseModel):
    decision: Literal["accept", "reject"]
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_LENGTH)
    step: str | None = Field(default=None, description="on reject: the earlier step to return to")
    annotations: Any = Field(default=None, description="on accept: corrected annotations")
    reasons: list[str] | None = Field(
        default=None, description="on reject: error types from the project's reject_reasons"
    )


class SubmitItem(Annotations):
    job_id: str


class SubmitList(BaseModel):
    jobs: list[SubmitItem] = Field(
        max_length=MAX_CLAIM_COUNT,
        description="each job once; data.results[i] is {job_id, status, step} or "
        "{job_id, error: {code, message}}, in input order",
    )


class ReviewItem(Review):
    job_id: str


class ReviewList(BaseModel):
    jobs: list[ReviewItem] = Field(
        max_length=MAX_CLAIM_COUNT,
        description="each job once; data.results[i] is {job_id, status, step} or "
        "{job_id, error: {code, message}}, in input order",
    )


EventType = Literal[
    "job.created",
    "job.status_changed",
    "job.completed",
    "job.aborted",
    "job.reopened",
    "batch.completed",
    "*",
]


class WebhookCreate(BaseModel):
    url: str = Field(description="http(s) URL that receives signed POSTs")
    event_types: list[EventType] = Field(default=["*"], min_length=1)
    description: str | None = None


class WebhookUpdate(BaseModel):
    url: str | None = None
    event_types: list[EventType] | None = None
    description: str | None = None
    enabled: bool | None = None


class Redeliver(BaseModel):
    event_id: str | None = Field(default=None, description="one event to send again")
    failed: bool | None = Field(default=None, description="true: every failed delivery")


class CallbackSet(BaseModel):
    callback_url: str = Field(description='receives completed jobs; "" removes it')


def body_of(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` that documents ``model`` as the JSON request body."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline(schema, defs)}},
        }
    }


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """Replace local ``$ref``s by their definitions (bodies here are small trees, no cycles)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node
