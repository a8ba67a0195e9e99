"""Exports API (asynchronous exports run by ``labelyard worker``; see docs/exports.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.responses import Response

from labelyard.api.deps import Body, ProjectAccess, State
from labelyard.exports.spec import parse_request
from labelyard.http.envelope import ok
from labelyard.services import exports


class ExportCreate(BaseModel):
    format: Literal["ndjson", "coco", "yolo", "voc", "kitti3d"]
    status: str | list[str] | None = Field(
        default=None, description="job statuses, a list or comma-separated (default completed)"
    )
    batch_id: str | None = Field(default=None, description="only this batch (default: all)")


async def create(project: ProjectAccess, state: State, body: Body) -> Response:
    """Queue an export of the project's jobs; a worker writes it."""
    return ok(
        await exports.create_export(
            state.db, state.blobs, project, parse_request(body), base_url=state.base_url
        )
    )


async def get(project: ProjectAccess, state: State, export_id: str) -> Response:
    """An export's status, progress, report and, once done, its private download URL."""
    found = await exports.get_export(
        state.db, state.blobs, project, export_id=export_id, base_url=state.base_url
    )
    return ok(found)


# (method, paths, handler, request body model, summary), as API_ROUTES in labelyard.api.
EXPORT_ROUTES: Sequence[tuple[str, Sequence[str], Callable[..., Any], Any, str]] = (
    (
        "POST",
        ("/v1/projects/{project_id}/exports",),
        create,
        ExportCreate,
        "Start an export: NDJSON, COCO, YOLO or Pascal VOC (extension)",
    ),
    (
        "GET",
        ("/v1/projects/{project_id}/exports/{export_id}",),
        get,
        None,
        "An export's progress, report and download URL (extension)",
    ),
)
