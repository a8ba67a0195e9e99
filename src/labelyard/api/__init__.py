"""The route table: every path labelyard serves, in one place.

Routes are authenticated by default: each public API route depends on ``project_access``
(``x-api-key``) and each admin route on ``admin_access``. The only open routes are the ones in
``OPEN_ROUTES`` below (and the OpenAPI document and its viewer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Depends, FastAPI

from labelyard.api import admin, batches, jobs, ops, projects
from labelyard.api.deps import admin_access
from labelyard.api.schemas import (
    AccountCreate,
    BatchCreate,
    BulkJobCreate,
    JobCreate,
    ProjectCreate,
    WorkflowCreate,
    body_of,
)

OPEN_ROUTES = ("/healthz", "/readyz", "/metrics")

# (method, paths, handler, request body model, summary). Paths of one row behave identically.
API_ROUTES: Sequence[tuple[str, Sequence[str], Callable[..., Any], Any, str]] = (
    (
        "POST",
        ("/v1/projects/{project_id}/batch", "/v1/project/{project_id}/batch"),
        batches.create,
        BatchCreate,
        "Create a batch",
    ),
    (
        "POST",
        (
            "/v1/projects/{project_id}/jobs",
            "/v0/projects/{project_id}/jobs",
            "/projectsvc/projects/{project_id}/jobs",
        ),
        jobs.create,
        JobCreate,
        "Create a job",
    ),
    (
        "POST",
        ("/v1/projects/{project_id}/jobs/bulk",),
        jobs.create_bulk,
        BulkJobCreate,
        "Create up to 10,000 jobs (extension)",
    ),
    (
        "GET",
        ("/v1/projects/{project_id}/jobs",),
        jobs.find,
        None,
        "Find a job by reference_id (extension)",
    ),
    (
        "GET",
        ("/v1/projects/{project_id}/details", "/v0/projects/{project_id}/details"),
        projects.details,
        None,
        "Project details with batch statistics",
    ),
    (
        "GET",
        ("/v1/projects/{project_id}/stats", "/v0/projects/{project_id}/stats"),
        projects.stats,
        None,
        "Project statistics",
    ),
    (
        "GET",
        (
            "/v1/projects/{project_id}/batch/{batch_id}",
            "/v0/projects/{project_id}/batch/{batch_id}",
        ),
        batches.jobs,
        None,
        "Get a batch's jobs, a page at a time",
    ),
    (
        "GET",
        ("/v1/projects/{project_id}/jobs/{job_id}", "/v0/projects/{project_id}/jobs/{job_id}"),
        jobs.get,
        None,
        "Get a job and its result URL",
    ),
)

ADMIN_ROUTES: Sequence[tuple[str, str, Callable[..., Any], Any, str]] = (
    ("POST", "/admin/v1/accounts", admin.create_account, AccountCreate, "Create an account"),
    ("POST", "/admin/v1/accounts/{account_id}/keys", admin.create_key, None, "Create an API key"),
    ("POST", "/admin/v1/keys/{key_id}/revoke", admin.revoke_key, None, "Revoke an API key"),
    ("POST", "/admin/v1/projects", admin.create_project, ProjectCreate, "Create a project"),
    (
        "POST",
        "/admin/v1/projects/{project_id}/workflows",
        admin.create_workflow,
        WorkflowCreate,
        "Create a workflow",
    ),
)


def mount(app: FastAPI) -> None:
    """Add every route to ``app``."""
    for method, paths, handler, body, summary in API_ROUTES:
        for path in paths:
            app.add_api_route(
                path,
                handler,
                methods=[method],
                summary=summary,
                tags=[path.split("/")[1]],
                openapi_extra=body_of(body) if body else None,
            )
    for method, path, handler, body, summary in ADMIN_ROUTES:
        app.add_api_route(
            path,
            handler,
            methods=[method],
            summary=summary,
            tags=["admin"],
            dependencies=[Depends(admin_access)],
            openapi_extra=body_of(body) if body else None,
        )
    app.add_api_route("/healthz", ops.healthz, methods=["GET"], tags=["ops"])
    app.add_api_route("/readyz", ops.readyz, methods=["GET"], tags=["ops"])
    app.add_api_route("/metrics", ops.metrics, methods=["GET"], tags=["ops"])
