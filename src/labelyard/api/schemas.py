"""Request bodies as the OpenAPI document shows them.

Bodies are parsed and validated by ``labelyard.core`` (so every violation gets API.md's own error
code, not a framework 422); these models only describe them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


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
    priority_weight: int | None = Field(default=5, ge=1, le=10)
    type: Literal["TEST", "NON_TEST"] | None = "NON_TEST"


class BulkJobCreate(BaseModel):
    jobs: list[JobCreate] = Field(max_length=10_000)


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


def body_of(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` that documents ``model`` as the JSON request body."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
