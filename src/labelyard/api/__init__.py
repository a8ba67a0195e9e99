"""The route table: every path labelyard serves, in one place.

Routes are authenticated by default: each public API route depends on ``project_access``
(``x-api-key``), each admin route on ``admin_access`` (admin token) and each worker route on
``worker_access`` (worker token). The only open routes are the ones in ``OPEN_ROUTES`` below
(and the OpenAPI document and its viewer); ``SIGNED_ROUTES`` need a signed link.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Depends, FastAPI
from starlette.routing import Route

from labelyard.api import (
    admin,
    analytics,
    audit,
    batches,
    changes,
    files,
    jobs,
    ops,
    projects,
    quality,
    webhooks,
    work,
)
from labelyard.api.deps import admin_access
from labelyard.api.exports import EXPORT_ROUTES
from labelyard.api.fast import fast
from labelyard.api.responses import CLAIM, CSV, ENVELOPE, PICTURE, RAW_JSON, REDIRECT
from labelyard.api.schemas import (
    AccountCreate,
    Annotations,
    Assign,
    BatchCreate,
    BulkCompletedCreate,
    BulkJobCreate,
    CallbackSet,
    Claim,
    GroupCreate,
    GroupMembers,
    Heartbeat,
    JobCreate,
    JobPriority,
    JobReopen,
    MigrationCreate,
    ProjectCreate,
    QualityUpdate,
    Redeliver,
    Review,
    ReviewList,
    SchemaSet,
    Skip,
    StorageCreate,
    SubmitList,
    WebhookCreate,
    WebhookUpdate,
    WorkerCreate,
    WorkerLogin,
    WorkflowCreate,
    body_of,
)

# The demo pictures the first start draws (bootstrap) are open too: the demo jobs name them.
OPEN_ROUTES = ("/healthz", "/readyz", "/metrics", "/demo-media/{name}")
# Served to anyone holding a link signed by /v1/attachments; 403 without a valid signature.
SIGNED_ROUTES = ("/files/{key:path}",)

HOOKS = "/v1/projects/{project_id}/webhooks"
P = "/v1/projects/{project_id}"

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
        "POST",
        ("/v1/projects/{project_id}/jobs/completed",),
        jobs.create_completed,
        BulkCompletedCreate,
        "Create up to 10,000 jobs completed with the annotations given (extension)",
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
        ("/v1/projects/{project_id}/schema",),
        projects.schema,
        None,
        "The project's label schema (extension)",
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
        ("/v1/projects/{project_id}/batch/{batch_id}/results",),
        batches.results,
        None,
        "A page of a batch's jobs with their results inline (extension)",
    ),
    (
        "GET",
        ("/v1/projects/{project_id}/jobs/{job_id}", "/v0/projects/{project_id}/jobs/{job_id}"),
        jobs.get,
        None,
        "Get a job and its result URL",
    ),
    (
        "GET",
        ("/v1/projects/{project_id}/jobs/{job_id}/result",),
        jobs.result,
        None,
        "The result JSON of a completed job (extension)",
    ),
    (
        "GET",
        ("/v1/projects/{project_id}/jobs/{job_id}/history",),
        jobs.history,
        None,
        "Every transition of a job (extension)",
    ),
    (
        "POST",
        ("/v1/projects/{project_id}/jobs/{job_id}/abort",),
        jobs.abort,
        None,
        "Abort a job (extension)",
    ),
    (
        "POST",
        ("/v1/projects/{project_id}/jobs/{job_id}/reopen",),
        jobs.reopen,
        JobReopen,
        "Reopen a completed or aborted job into a step (extension)",
    ),
    (
        "POST",
        ("/v1/projects/{project_id}/jobs/{job_id}/priority",),
        jobs.priority,
        JobPriority,
        "Change a job's priority_weight (extension)",
    ),
    (
        "POST",
        ("/v1/projects/{project_id}/jobs/{job_id}/media/retry",),
        jobs.retry_media,
        None,
        "Check a job's media again after fixing it (extension)",
    ),
    (
        "POST",
        ("/v1/projects/{project_id}/batch/{batch_id}/abort",),
        batches.abort,
        None,
        "Abort every unfinished job of a batch (extension)",
    ),
    ("GET", ("/v1/projects/{project_id}/changes",), changes.changes, None, "The change feed"),
    (
        "GET",
        ("/v1/projects/{project_id}/analytics",),
        analytics.report,
        None,
        "Analytics per worker, per batch and per day over a range of days (extension)",
    ),
    (
        "GET",
        ("/v1/projects/{project_id}/analytics/workers.csv",),
        analytics.workers_csv,
        None,
        "The workers' figures as CSV",
    ),
    (
        "GET",
        ("/v1/projects/{project_id}/analytics/batches.csv",),
        analytics.batches_csv,
        None,
        "The batches' figures, day by day, as CSV",
    ),
    (
        "GET",
        ("/v1/projects/{project_id}/audit",),
        audit.project_log,
        None,
        "The audit log of the project and its account, newest first",
    ),
    ("GET", (f"{P}/quality",), quality.get_settings, None, "The quality rules"),
    ("PATCH", (f"{P}/quality",), quality.update_settings, QualityUpdate, "Change quality rules"),
    ("GET", (f"{P}/groups",), quality.groups, None, "Worker groups"),
    ("POST", (f"{P}/groups",), quality.create_group, GroupCreate, "Add a worker group"),
    (
        "PUT",
        (f"{P}/groups/{{group_id}}/members",),
        quality.set_members,
        GroupMembers,
        "Set a group's members",
    ),
    ("DELETE", (f"{P}/groups/{{group_id}}",), quality.delete_group, None, "Remove a group"),
    (
        "POST",
        (f"{P}/jobs/{{job_id}}/assign",),
        quality.assign_job,
        Assign,
        "Assign a job to a worker or group, or unassign it",
    ),
    (
        "POST",
        (f"{P}/batch/{{batch_id}}/assign",),
        quality.assign_batch,
        Assign,
        "Assign a batch's unfinished jobs to a worker or group, or unassign them",
    ),
    ("GET", (f"{P}/workers",), quality.workers, None, "Workers' accepted, rejected and gold"),
    ("GET", (f"{P}/workers/{{worker_id}}",), quality.worker, None, "A worker's gold scores"),
    ("GET", (f"{P}/jobs/{{job_id}}/versions",), quality.versions, None, "Consensus versions"),
    ("POST", (HOOKS,), webhooks.create, WebhookCreate, "Add a webhook endpoint"),
    ("GET", (HOOKS,), webhooks.index, None, "List webhook endpoints"),
    ("GET", (f"{HOOKS}/{{webhook_id}}",), webhooks.get, None, "A webhook endpoint"),
    ("PATCH", (f"{HOOKS}/{{webhook_id}}",), webhooks.update, WebhookUpdate, "Change an endpoint"),
    ("DELETE", (f"{HOOKS}/{{webhook_id}}",), webhooks.delete, None, "Remove an endpoint"),
    ("POST", (f"{HOOKS}/{{webhook_id}}/rotate",), webhooks.rotate, None, "Rotate the secret"),
    ("GET", (f"{HOOKS}/{{webhook_id}}/attempts",), webhooks.attempts, None, "Delivery log"),
    ("GET", (f"{HOOKS}/{{webhook_id}}/deliveries",), webhooks.deliveries, None, "Deliveries"),
    (
        "POST",
        (f"{HOOKS}/{{webhook_id}}/redeliver",),
        webhooks.redeliver,
        Redeliver,
        "Deliver one event again, or all failed deliveries",
    ),
    (
        "PUT",
        ("/v1/projects/{project_id}/callback",),
        webhooks.set_callback,
        CallbackSet,
        "Set the legacy callback_url (answers its signing secret, once)",
    ),
    (
        "GET",
        ("/v1/projects/{project_id}/callback",),
        webhooks.get_callback,
        None,
        "The legacy callback_url",
    ),
)

WORK = "/work/v1/projects/{project_id}"
WORK_ROUTES: Sequence[tuple[str, Callable[..., Any], Any, str]] = (
    (f"{WORK}/claim", work.claim, Claim, "Claim the next free job of a step, or up to count"),
    (f"{WORK}/submit", work.submit_many, SubmitList, "Submit many annotate steps at once"),
    (f"{WORK}/review", work.review_many, ReviewList, "Accept or reject many review steps"),
    (f"{WORK}/jobs/{{job_id}}/heartbeat", work.heartbeat, Heartbeat, "Extend a lease"),
    (f"{WORK}/jobs/{{job_id}}/draft", work.draft, Annotations, "Save a draft"),
    (f"{WORK}/jobs/{{job_id}}/submit", work.submit, Annotations, "Submit an annotate step"),
    (f"{WORK}/jobs/{{job_id}}/skip", work.skip, Skip, "Give a job back"),
    (f"{WORK}/jobs/{{job_id}}/review", work.review, Review, "Accept or reject a review step"),
)

SSO = "/admin/v1/accounts/{account_id}/sso"
ADMIN_ROUTES: Sequence[tuple[str, str, Callable[..., Any], Any, str]] = (
    (
        "POST",
        "/admin/v1/migrations",
        admin.queue_migration,
        MigrationCreate,
        "Queue a pull of a project from a hosted-API server (run by labelyard worker)",
    ),
    (
        "GET",
        "/admin/v1/migrations/{migration_id}",
        admin.get_migration,
        None,
        "A pull's status and progress",
    ),
    ("GET", "/admin/v1/audit", audit.admin_log, None, "The audit log, newest first"),
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
    (
        "PUT",
        "/admin/v1/projects/{project_id}/schema",
        admin.set_schema,
        SchemaSet,
        "Set the label schema",
    ),
    (
        "GET",
        "/admin/v1/projects/{project_id}/schema",
        admin.get_schema,
        None,
        "Get the label schema",
    ),
    (
        "POST",
        "/admin/v1/accounts/{account_id}/workers",
        admin.create_worker,
        WorkerCreate,
        "Create a worker (annotator, reviewer or both)",
    ),
    (
        "POST",
        "/admin/v1/accounts/{account_id}/storage",
        admin.add_storage,
        StorageCreate,
        "Add a storage connection (S3, S3-compatible, GCS with HMAC keys)",
    ),
    (
        "GET",
        "/admin/v1/accounts/{account_id}/storage",
        admin.list_storage,
        None,
        "List the account's storage connections (without secrets)",
    ),
    (
        "DELETE",
        "/admin/v1/accounts/{account_id}/storage/{connection_id}",
        admin.remove_storage,
        None,
        "Remove a storage connection",
    ),
    (
        "PUT",
        "/admin/v1/workers/{worker_id}/login",
        admin.set_worker_login,
        WorkerLogin,
        "Set a worker's web UI username and password",
    ),
    ("PUT", SSO, admin.set_sso, None, "Set the account's OpenID Connect provider"),
    ("GET", SSO, admin.get_sso, None, "The account's OpenID Connect provider"),
    ("DELETE", SSO, admin.delete_sso, None, "Remove the account's OpenID Connect provider"),
    (
        "PUT",
        "/admin/v1/workers/{worker_id}/identity",
        admin.set_worker_identity,
        None,
        "Set the e-mail or subject a worker signs on with",
    ),
    (
        "POST",
        "/admin/v1/workers/{worker_id}/revoke",
        admin.revoke_worker,
        None,
        "Revoke a worker (its token and web sign-ins)",
    ),
)


# Routes that answer something other than the envelope.
RESPONSES: dict[Callable[..., Any], dict[int | str, dict[str, Any]]] = {
    jobs.result: RAW_JSON,
    batches.results: RAW_JSON,
    quality.versions: RAW_JSON,
    analytics.workers_csv: CSV,
    analytics.batches_csv: CSV,
}

# The hottest reads, served by api.fast (the same handlers without FastAPI's per-request
# dependency solving); their FastAPI routes stay for the OpenAPI document.
FAST_ROUTES = (batches.jobs, jobs.get, jobs.create)


def mount(app: FastAPI) -> None:
    """Add every route to ``app``."""
    for method, paths, handler, body, summary in (*API_ROUTES, *EXPORT_ROUTES):
        for path in paths:
            if handler in FAST_ROUTES:
                route = Route(path, fast(handler, path), methods=[method], include_in_schema=False)
                route.methods = {method}  # no implicit HEAD: the same methods as the API route
                app.router.routes.append(route)
            app.add_api_route(
                path,
                handler,
                methods=[method],
                summary=summary,
                tags=[path.split("/")[1]],
                openapi_extra=body_of(body) if body else None,
                responses=RESPONSES.get(handler, ENVELOPE),
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
            responses=ENVELOPE,
        )
    for path, handler, body, summary in WORK_ROUTES:
        app.add_api_route(
            path,
            handler,
            methods=["POST"],
            summary=summary,
            tags=["work"],
            openapi_extra=body_of(body),
            responses=CLAIM if handler is work.claim else ENVELOPE,
        )
    app.add_api_route(
        "/v1/attachments", files.attachment, methods=["GET"], tags=["v1"], responses=REDIRECT
    )
    app.add_api_route(
        "/files/{key:path}", files.file, methods=["GET"], tags=["files"], responses=RAW_JSON
    )
    app.add_api_route(
        "/demo-media/{name}", files.demo_media, methods=["GET"], tags=["files"], responses=PICTURE
    )
    app.add_api_route("/healthz", ops.healthz, methods=["GET"], tags=["ops"])
    app.add_api_route("/readyz", ops.readyz, methods=["GET"], tags=["ops"])
    # Load balancers and uptime checkers often probe with HEAD.
    app.add_api_route("/healthz", ops.healthz, methods=["HEAD"], include_in_schema=False)
    app.add_api_route("/readyz", ops.readyz, methods=["HEAD"], include_in_schema=False)
    app.add_api_route("/metrics", ops.metrics, methods=["GET"], tags=["ops"])
