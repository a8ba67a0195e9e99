"""The ``labelyard`` command: serve, migrate, and manage accounts, keys, projects, workflows."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from labelyard.client.cli import jobs_app, project_app, results_app
from labelyard.config import DEFAULT_PORT, Settings
from labelyard.core.audit import COMMAND_LINE, Actor
from labelyard.errors import LabelyardError

if (
    TYPE_CHECKING
):  # the database layer loads only for commands that use it (client commands start fast)
    from labelyard.store.engine import Database

app = typer.Typer(help="labelyard: self-hosted data-annotation server.", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
projects_app = typer.Typer(help="Projects.", no_args_is_help=True)
workflows_app = typer.Typer(help="Workflows.", no_args_is_help=True)
schema_app = typer.Typer(help="Label schemas.", no_args_is_help=True)
workers_app = typer.Typer(help="Workers (annotators, reviewers, programs).", no_args_is_help=True)
quality_app = typer.Typer(
    help="Quality rules, worker groups and assignments (docs/quality.md).", no_args_is_help=True
)
groups_app = typer.Typer(help="Worker groups (pools) of a project.", no_args_is_help=True)
storage_app = typer.Typer(
    help="Storage connections: let the web UI show an account's s3:// and gs:// media.",
    no_args_is_help=True,
)
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
app.add_typer(projects_app, name="projects")
app.add_typer(workflows_app, name="workflows")
app.add_typer(schema_app, name="schema")
app.add_typer(workers_app, name="workers")
app.add_typer(quality_app, name="quality")
app.add_typer(groups_app, name="groups")
app.add_typer(storage_app, name="storage")
assist_app = typer.Typer(
    help="The reference assist service (the editor's smart tool).", no_args_is_help=True
)
app.add_typer(assist_app, name="assist")
app.add_typer(jobs_app, name="jobs")
app.add_typer(results_app, name="results")
app.add_typer(project_app, name="project")

console = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")
# Who the audit log names for changes made with these commands on the server's host.
CLI = Actor(COMMAND_LINE, "", "local")
WORKER_HEALTHCHECK_SECONDS = 60
SERVER_KEEP_ALIVE_SECONDS = 30
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object.")]


def _run(work: Callable[[Database], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run ``work`` against a migrated database; errors become a message and exit code 1."""
    from labelyard.datadir import prepare_data_dir
    from labelyard.store.engine import Database
    from labelyard.store.migrate import migrate

    settings = settings or Settings()

    async def main() -> T:
        prepare_data_dir(settings)
        db = Database(settings.resolved_database_url(), pool_size=2)
        try:
            await migrate(db)
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except LabelyardError as exc:
        console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        raise typer.Exit(1) from None


def _emit(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Server processes on the one port (default: one per CPU core).", min=1),
    ] = None,
) -> None:
    """Migrate the database and serve the API (default 127.0.0.1:8080)."""
    import uvicorn

    from labelyard.app import SERVE_PARENT_ENV, create_app, load_secrets, proxy_options
    from labelyard.bootstrap import create_demo_if_empty, create_street_demo, ensure_admin_token

    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if workers is not None:
        overrides["workers"] = workers
    settings = Settings(**overrides)
    processes = settings.workers or os.cpu_count() or 1
    from labelyard.blobs.config import from_settings as blob_store

    base = settings.resolved_public_base_url()

    async def prepare(db: Database) -> Any:
        # Once, before any server process starts: migrations (by _run), signing keys, demo.
        await load_secrets(db)
        return await create_demo_if_empty(db, blob_store(settings), base)

    demo = _run(prepare, settings)
    if demo is not None:
        _run(
            lambda db: create_street_demo(
                db, blob_store(settings), base, account_id=demo.account_id
            ),
            settings,
        )
    token, new_token = ensure_admin_token(settings)
    from labelyard.secretbox import secret_key

    secret_key(settings)  # generated (if not configured) before the worker processes read it
    console.print(
        f"labelyard serving on [bold]{base}[/bold]  (web UI: {base}/ui, API docs: {base}/docs)"
        + (f", {processes} processes" if processes > 1 else "")
    )
    if new_token:
        console.print(f"admin token (shown once, kept in {settings.data_dir}/admin_token):")
        print(token, flush=True)
    if demo is not None:
        _print_demo(base, demo)
    from labelyard.logs import configure

    configure(settings.log_level, settings.log_format)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": None,
        "access_log": False,
        "timeout_keep_alive": SERVER_KEEP_ALIVE_SECONDS,
        # The supervisor kills a process that does not answer its ping in time. Its default (5 s)
        # killed healthy processes still starting or busy on a loaded machine; a process silent
        # for a minute is hung.
        "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS,
        **proxy_options(settings),
    }
    if processes == 1:
        uvicorn.run(create_app(settings, migrated=True, serving=True), **options)
        return
    # Worker processes are spawned (fresh interpreters) and read their settings from the
    # environment: pass on what the command line said, and who their parent is.
    for name, value in overrides.items():
        os.environ[f"LABELYARD_{name.upper()}"] = str(value)
    os.environ[SERVE_PARENT_ENV] = str(os.getpid())
    uvicorn.run("labelyard.app:worker_app", factory=True, workers=processes, **options)


def _print_demo(base: str, demo: Any) -> None:
    job = json.dumps(
        {
            "reference_id": "my-first-job",
            "work_flow_id": demo.work_flow_id,
            "data": {"image_url": demo.image_url},
        }
    )
    key = shlex.quote(f"x-api-key: {demo.api_key}")
    console.print(
        "A demo account was created: an IMAGE project with 4 street pictures, a VIDEO project "
        "with one 8-frame job and a SENSOR_FUSION project with a lidar street scene for the 3D "
        "editor, waiting to be annotated. Add a job of your own:"
    )
    print(
        f"curl -s -X POST {base}/v1/projects/{demo.project_id}/jobs -H {key} "
        f"-H 'content-type: application/json' -d {shlex.quote(job)}",
        flush=True,
    )
    print(f"curl -s {base}/v1/projects/{demo.project_id}/batch/{demo.default_batch_id} -H {key}")
    console.print(
        f"Web UI {base}/ui/login: as the owner with the API key above, or as the demo "
        "annotator (annotate and review) with this worker token (shown once):"
    )
    print(demo.worker_token, flush=True)


@app.command()
def worker() -> None:
    """Run a background worker: webhook deliveries, exports, media checks and pulls queued
    through /admin/v1/migrations (run as many as you like)."""
    from labelyard.logs import configure
    from labelyard.worker.loop import run_worker

    settings = Settings()
    configure(settings.log_level, settings.log_format)
    console.print("labelyard worker started")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker(settings))


@assist_app.command("serve")
def assist_serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8090,
    allow: Annotated[
        str,
        typer.Option(
            help="Private hosts or CIDRs images may be fetched from (comma-separated), e.g. "
            "127.0.0.1 for a labelyard on this machine; public addresses are always allowed."
        ),
    ] = "",
    timeout: Annotated[float, typer.Option(help="Seconds to fetch an image.")] = 10.0,
) -> None:
    """Serve the GrabCut assist service: POST /assist (docs/web.md, "Smart tool")."""
    import uvicorn

    from labelyard.assist import create_app, outbound_for

    service = create_app(outbound_for(allow, timeout=timeout))
    console.print(f"labelyard assist service on http://{host}:{port}/assist")
    uvicorn.run(service, host=host, port=port, log_level="info")


@app.command("migrate")
def migrate_command() -> None:
    """Apply the database migrations and exit."""

    async def work(db: Database) -> None:
        return None

    _run(work)
    console.print("database is up to date")


@accounts_app.command("create")
def accounts_create(
    name: Annotated[str, typer.Option(help="Account name.")], as_json: JsonFlag = False
) -> None:
    """Create an account and its first API key."""
    from labelyard.services import accounts

    issued = _run(lambda db: accounts.create_account(db, name=name, actor=CLI))
    _emit({"account_id": issued.account_id, "api_key": issued.api_key}, as_json)


@keys_app.command("create")
def keys_create(
    account: Annotated[str, typer.Option(help="Account id.")], as_json: JsonFlag = False
) -> None:
    """Create an API key for an account (the key is shown once)."""
    from labelyard.services import accounts

    _emit(asdict(_run(lambda db: accounts.create_key(db, account_id=account, actor=CLI))), as_json)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id.")]) -> None:
    """Revoke an API key."""
    from labelyard.services import accounts

    _run(lambda db: accounts.revoke_key(db, key_id=key_id, actor=CLI))
    console.print(f"revoked {key_id}")


@projects_app.command("create")
def projects_create(
    name: Annotated[str, typer.Option(help="Project name.")],
    base: Annotated[
        str, typer.Option(help="IMAGE|SEGMENTATION|VIDEO|SENSOR_FUSION|POINT_CLOUD_SEGMENTATION")
    ],
    account: Annotated[str | None, typer.Option(help="Account id (default: 'default').")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a project (with its default workflow and batch) and a new API key."""
    from labelyard.services import projects

    _emit(
        _run(
            lambda db: projects.create_project(
                db, name=name, base=base, account_id=account, actor=CLI
            )
        ),
        as_json,
    )


@workflows_app.command("create")
def workflows_create(
    project: Annotated[str, typer.Option(help="Project id.")],
    name: Annotated[str, typer.Option(help="Workflow name.")],
    tag: Annotated[str | None, typer.Option(help="Tag (default: from the name).")] = None,
    steps: Annotated[str, typer.Option(help="Comma-separated steps.")] = "annotate,review",
    as_json: JsonFlag = False,
) -> None:
    """Create a workflow in a project."""
    from labelyard.services import projects

    created = _run(
        lambda db: projects.create_workflow(
            db, project_id=project, name=name, tag=tag, steps=steps, actor=CLI
        )
    )
    _emit(created, as_json)


@schema_app.command("set")
def schema_set(
    project: Annotated[str, typer.Option(help="Project id.")],
    file: Annotated[Path, typer.Argument(help="Schema as JSON or YAML: {classes: [...]}.")],
    as_json: JsonFlag = False,
) -> None:
    """Replace a project's label schema with the one in FILE."""
    import yaml

    from labelyard.services import projects

    try:
        text = file.read_text()
        document = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        console.print(f"[red]error[/red] cannot read {file}: {exc}")
        raise typer.Exit(1) from None
    saved = _run(
        lambda db: projects.set_label_schema(db, project_id=project, schema=document, actor=CLI)
    )
    if as_json:
        print(json.dumps(saved))
    else:
        names = (
            ", ".join(c["name"] for c in saved["schema"]["classes"]) or "(none: labels are free)"
        )
        print(f"schema of {project}: {names}")


@workers_app.command("create")
def workers_create(
    account: Annotated[str, typer.Option(help="Account id.")],
    name: Annotated[str, typer.Option(help="Worker name.")],
    role: Annotated[str, typer.Option(help="annotator|reviewer|both")],
    as_json: JsonFlag = False,
) -> None:
    """Create a worker and print its token (shown once)."""
    from labelyard.services import workers

    _emit(
        _run(
            lambda db: workers.create_worker(
                db, account_id=account, name=name, role=role, actor=CLI
            )
        ),
        as_json,
    )


@workers_app.command("password")
def workers_password(
    worker: Annotated[str, typer.Option(help="Worker id.")],
    username: Annotated[str, typer.Option(help="The name to sign in to the web UI with.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set the username and password a worker signs in to the web UI with."""
    from labelyard.services import workers

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    _run(
        lambda db: workers.set_login(
            db, worker_id=worker, username=username, password=password, actor=CLI
        )
    )
    print(f"worker {worker} signs in as {username!r}")


@workers_app.command("revoke")
def workers_revoke(worker_id: Annotated[str, typer.Argument(help="Worker id.")]) -> None:
    """Revoke a worker: its token stops working and its web UI sign-ins end at once."""
    from labelyard.services import workers

    _run(lambda db: workers.revoke_worker(db, worker_id=worker_id, actor=CLI))
    console.print(f"revoked {worker_id}")


ProjectOption = Annotated[str, typer.Option("--project", help="Project id.")]


def _with_project(
    project_id: str, work: Callable[[Database, Any], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    from labelyard.services import quality

    async def run(db: Database) -> dict[str, Any]:
        project = await quality.project_by_id(db, project_id=project_id)
        return await work(db, project)

    return _run(run)


def _fraction_pair(value: str) -> dict[str, Any] | None:
    """``50:0.2`` → full review until 50 accepted, then 20%; ``off`` → no sampling."""
    if value == "off":
        return None
    full, _, rate = value.partition(":")
    try:
        return {"full_until": int(full), "rate": float(rate or 1)}
    except ValueError:
        console.print("[red]error[/red] --sampling is FULL_UNTIL:RATE (e.g. 50:0.2) or off")
        raise typer.Exit(1) from None


@quality_app.command("show")
def quality_show(project: ProjectOption, as_json: JsonFlag = False) -> None:
    """Print a project's quality rules."""
    from labelyard.services import quality

    _emit(_with_project(project, quality.get_settings), as_json)


@quality_app.command("set")
def quality_set(
    project: ProjectOption,
    gold_rate: Annotated[float | None, typer.Option(help="Share of claims served gold.")] = None,
    sampling: Annotated[
        str | None, typer.Option(help="FULL_UNTIL:RATE (e.g. 50:0.2), or off.")
    ] = None,
    overlap: Annotated[int | None, typer.Option(help="Annotations per job (consensus).")] = None,
    threshold: Annotated[float | None, typer.Option(help="Agreement that skips review.")] = None,
    rejected_to: Annotated[str | None, typer.Option(help="same|first|anyone")] = None,
    reason: Annotated[
        list[str] | None, typer.Option(help="A reject reason (repeat; replaces the list).")
    ] = None,
    self_review: Annotated[
        bool | None, typer.Option("--self-review/--no-self-review", help="Own work reviewable.")
    ] = None,
    pool: Annotated[
        list[str] | None, typer.Option(help="KIND=GROUP_ID limits a step kind (KIND= clears).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change some of a project's quality rules (only the options given)."""
    from labelyard.services import quality

    patch: dict[str, Any] = {}
    if gold_rate is not None:
        patch["gold_rate"] = gold_rate
    if sampling is not None:
        patch["sampling"] = _fraction_pair(sampling)
    if overlap is not None:
        patch["overlap"] = overlap
    if threshold is not None:
        patch["agreement_threshold"] = threshold
    if rejected_to is not None:
        patch["rejected_to"] = rejected_to
    if reason is not None:
        patch["reject_reasons"] = reason
    if self_review is not None:
        patch["allow_self_review"] = self_review
    if pool is not None:
        patch["pools"] = {k: (v or None) for k, _, v in (item.partition("=") for item in pool)}
    _emit(_with_project(project, lambda db, p: quality.update(db, p, patch, actor=CLI)), as_json)


@quality_app.command("workers")
def quality_workers(project: ProjectOption, as_json: JsonFlag = False) -> None:
    """Print each worker's accepted, rejected, gold jobs and gold score in a project."""
    from labelyard.services import quality

    found = _with_project(project, quality.workers_quality)
    if as_json:
        print(json.dumps(found))
        return
    for row in found["workers"]:
        score = "-" if row["gold_score"] is None else f"{row['gold_score']:.3f}"
        print(
            f"{row['worker_id']} {row['name']}: accepted {row['accepted']}, rejected "
            f"{row['rejected']}, gold {row['gold_jobs']} (score {score})"
        )


@quality_app.command("assign")
def quality_assign(
    project: ProjectOption,
    job: Annotated[str | None, typer.Option(help="A job id.")] = None,
    batch: Annotated[str | None, typer.Option(help="A batch id (all its unfinished jobs).")] = None,
    worker: Annotated[str | None, typer.Option(help="To this worker.")] = None,
    group: Annotated[str | None, typer.Option(help="To this group.")] = None,
    first: Annotated[
        bool, typer.Option("--first", help="Offer to the worker first instead of only.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Assign a job or a batch to a worker or a group; with neither, unassign."""
    from labelyard.core import commands
    from labelyard.services import quality

    if (job is None) == (batch is None):
        console.print("[red]error[/red] give exactly one of --job and --batch")
        raise typer.Exit(1)
    body: dict[str, Any] = {"worker_id": worker, "group_id": group}
    if worker is not None:
        body["only"] = not first

    async def run(db: Database, p: Any) -> dict[str, Any]:
        to = commands.parse_assign({k: v for k, v in body.items() if v is not None})
        if job is not None:
            return await quality.assign_job(db, p, job_id=job, to=to, actor=CLI)
        assert batch is not None
        return await quality.assign_batch(db, p, batch_id=batch, to=to, actor=CLI)

    _emit(_with_project(project, run), as_json)


@groups_app.command("create")
def groups_create(
    project: ProjectOption,
    name: Annotated[str, typer.Option(help="Group name.")],
    as_json: JsonFlag = False,
) -> None:
    """Create a worker group in a project."""
    from labelyard.core.commands import parse_group_create
    from labelyard.services import quality

    def run(db: Database, p: Any) -> Awaitable[dict[str, Any]]:
        return quality.create_group(db, p, name=parse_group_create({"name": name}), actor=CLI)

    _emit(_with_project(project, run), as_json)


@groups_app.command("members")
def groups_members(
    project: ProjectOption,
    group: Annotated[str, typer.Option(help="Group id.")],
    workers: Annotated[list[str], typer.Argument(help="Worker ids (replacing the members).")],
    as_json: JsonFlag = False,
) -> None:
    """Set a group's members."""
    from labelyard.core.commands import parse_members
    from labelyard.services import quality

    def run(db: Database, p: Any) -> Awaitable[dict[str, Any]]:
        ids = parse_members({"worker_ids": workers})
        return quality.set_members(db, p, group_id=group, worker_ids=ids, actor=CLI)

    _emit(_with_project(project, run), as_json)


@groups_app.command("list")
def groups_list(project: ProjectOption, as_json: JsonFlag = False) -> None:
    """List a project's groups and members."""
    from labelyard.services import quality

    found = _with_project(project, quality.list_groups)
    if as_json:
        print(json.dumps(found))
        return
    for row in found["groups"]:
        print(f"{row['group_id']} {row['name']}: {', '.join(row['worker_ids']) or '(empty)'}")


@storage_app.command("add")
def storage_add(
    account: Annotated[str, typer.Option(help="Account id.")],
    scheme: Annotated[str, typer.Option(help="s3 (AWS S3 or S3-compatible) or gs (GCS, HMAC).")],
    bucket_prefix: Annotated[
        str, typer.Option(help="The bucket, or bucket/folder, whose media this connection signs.")
    ],
    access_key_id: Annotated[str, typer.Option(help="Access key id (GCS: HMAC key id).")],
    secret_access_key: Annotated[
        str,
        typer.Option(
            envvar="LABELYARD_STORAGE_SECRET_ACCESS_KEY",
            prompt="Secret access key",
            hide_input=True,
            help="Prompted for when not in the environment variable; never printed.",
        ),
    ],
    endpoint: Annotated[
        str, typer.Option(help="Endpoint URL (S3-compatible stores; gs defaults to GCS).")
    ] = "",
    region: Annotated[str, typer.Option(help="Region (default us-east-1; gs: auto).")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Add a storage connection to an account; its secret is encrypted at rest."""
    from labelyard.secretbox import secret_box
    from labelyard.services import storage

    settings = Settings()
    box = secret_box(settings)
    created = _run(
        lambda db: storage.add_connection(
            db,
            box,
            account_id=account,
            scheme=scheme,
            endpoint_url=endpoint,
            region=region,
            bucket_prefix=bucket_prefix,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            actor=CLI,
        ),
        settings,
    )
    _emit(created, as_json)


@storage_app.command("list")
def storage_list(
    account: Annotated[str, typer.Option(help="Account id.")], as_json: JsonFlag = False
) -> None:
    """List an account's storage connections (secrets are never shown)."""
    from labelyard.services import storage

    listed = _run(lambda db: storage.list_connections(db, account_id=account))
    if as_json:
        print(json.dumps(listed))
        return
    for item in listed["connections"]:
        endpoint = item["endpoint_url"] or "(AWS)"
        print(
            f"{item['connection_id']}  {item['scheme']}://{item['bucket_prefix']}  "
            f"{endpoint}  {item['region']}  key {item['access_key_id']}"
        )
    if not listed["connections"]:
        print("no storage connections")


@storage_app.command("remove")
def storage_remove(
    connection_id: Annotated[str, typer.Argument(help="Connection id.")],
    account: Annotated[str, typer.Option(help="Account id.")],
) -> None:
    """Remove a storage connection."""
    from labelyard.services import storage

    _run(
        lambda db: storage.remove_connection(
            db, account_id=account, connection_id=connection_id, actor=CLI
        )
    )
    console.print(f"removed {connection_id}")


sso_app = typer.Typer(help="Single sign-on (OpenID Connect) of an account.", no_args_is_help=True)
app.add_typer(sso_app, name="sso")


@sso_app.command("set")
def sso_set(
    account: Annotated[str, typer.Option(help="Account id.")],
    issuer: Annotated[str, typer.Option(help="The provider's issuer URL.")],
    client_id: Annotated[str, typer.Option(help="This server's client id at the provider.")],
    match: Annotated[
        str, typer.Option(help="email|subject: how identities name people.")
    ] = "email",
    owner: Annotated[
        list[str] | None, typer.Option(help="An owner's e-mail or subject (repeat).")
    ] = None,
    name: Annotated[str, typer.Option(help="Shown on the sign-in page.")] = "Single sign-on",
    secret_stdin: Annotated[
        bool, typer.Option("--client-secret-stdin", help="Read the client secret from stdin.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Set an account's OpenID Connect provider (the client secret is kept encrypted)."""
    from labelyard.secretbox import secret_box
    from labelyard.services import sso

    body: dict[str, Any] = {
        "issuer": issuer,
        "client_id": client_id,
        "match": match,
        "owners": owner or [],
        "name": name,
    }
    if secret_stdin:
        body["client_secret"] = sys.stdin.readline().rstrip("\r\n")
    box = secret_box(Settings())
    _emit(
        _run(lambda db: sso.configure(db, box, account_id=account, body=body, actor=CLI)), as_json
    )


@sso_app.command("identity")
def sso_identity(
    worker: Annotated[str, typer.Option(help="Worker id.")],
    email: Annotated[str | None, typer.Option(help="The worker's e-mail at the provider.")] = None,
    subject: Annotated[str | None, typer.Option(help="The worker's subject (sub).")] = None,
) -> None:
    """Set the e-mail or subject under which the account's provider names a worker."""
    from labelyard.services import sso

    body = {"email": email, "subject": subject}
    _run(lambda db: sso.set_worker_identity(db, worker_id=worker, body=body, actor=CLI))
    console.print(f"worker {worker} signs on as {email or subject!r}")


@app.command("audit")
def audit_command(
    account: Annotated[str | None, typer.Option(help="Only this account's entries.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many entries.", min=1)] = 100,
) -> None:
    """The audit log, newest first, one JSON object a line (every account's, or one's)."""
    from labelyard.services import audit

    for entry in _run(lambda db: audit.latest(db, account_id=account, limit=limit)):
        print(json.dumps(entry))


@app.command("export")
def export_command(
    project: Annotated[str, typer.Option(help="Project id.")],
    fmt: Annotated[str, typer.Option("--format", help="ndjson|coco|yolo|voc|kitti3d")],
    out: Annotated[Path, typer.Option(help="File to write (.ndjson, .json or .zip).")],
    batch: Annotated[str | None, typer.Option(help="Only this batch (default: all).")] = None,
    status: Annotated[str, typer.Option(help="Job statuses, comma-separated.")] = "completed",
    as_json: JsonFlag = False,
) -> None:
    """Export a project's jobs to a file, streamed (memory stays flat); see docs/exports.md."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from labelyard.services import export_runs

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[skipped]} skipped"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"export {fmt}", total=None, skipped=0)

        def progress(done: int, total: int, skipped: int) -> None:
            bar.update(task, completed=done, total=total, skipped=skipped)

        summary = _run(
            lambda db: export_runs.export_to_file(
                db,
                project_id=project,
                format=fmt,
                out=out,
                statuses=status,
                batch_id=batch,
                on_progress=progress,
            )
        )
    if as_json:
        print(json.dumps(summary))
        return
    print(f"{summary['exported_jobs']} jobs written to {summary['path']} ({summary['format']})")
    report = summary["report"]
    if report["skipped_total"]:
        print(f"{report['skipped_total']} jobs skipped:")
        for item in report["skipped"][:10]:
            print(f"  {item['job_id']} ({item['reference_id']}): {item['reason']}")
        if report["skipped_total"] > 10:
            print("  ... (--json lists the first 1,000)")


@app.command("pull")
def pull_command(
    source: Annotated[str, typer.Option("--from", help="The hosted-API server's base URL.")],
    api_key: Annotated[str, typer.Option(help="An API key of the source project's account.")],
    project: Annotated[str, typer.Option(help="The source project's id.")],
    into: Annotated[
        str | None, typer.Option(help="Pull into this project (default: a new one).")
    ] = None,
    data_from: Annotated[
        Path | None,
        typer.Option(help="JSON lines of the jobs' create payloads (data by reference_id)."),
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at most.")] = 8,
    dry_run: Annotated[bool, typer.Option(help="Only count what would move.")] = False,
    report_dir: Annotated[
        Path, typer.Option(help="Where <project>.pull-report.jsonl is written.")
    ] = Path(),
    as_json: JsonFlag = False,
) -> None:
    """Pull a whole project (batches, jobs, results, masks) from a hosted-API server, with this
    server's own settings; resumable (run it again after a stop). See docs/migrate.md."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from labelyard.core.pull import SourceError, data_lines
    from labelyard.services import pull_runs

    payloads: Mapping[str, dict[str, Any]] = {}
    if data_from is not None:
        try:
            with data_from.open(encoding="utf-8") as lines:
                payloads = data_lines(lines)
        except (OSError, UnicodeDecodeError, SourceError) as exc:
            console.print(f"[red]error[/red] --data-from {data_from}: {exc}")
            raise typer.Exit(1) from None
    settings = Settings()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bars:
        overall = bars.add_task("all batches", total=None)
        tasks: dict[str, Any] = {}
        done: dict[str, int] = {}
        expected: dict[str, int] = {}

        def progress(batch_id: str, name: str, count: int, total: int) -> None:
            if batch_id not in tasks:
                tasks[batch_id] = bars.add_task(f"  {name}", total=total or None)
            done[batch_id], expected[batch_id] = count, max(total, count)
            bars.update(tasks[batch_id], completed=count, total=max(total, count) or None)
            bars.update(overall, completed=sum(done.values()), total=sum(expected.values()))

        summary = _run(
            lambda db: pull_runs.pull_project(
                db,
                settings,
                source_url=source,
                api_key=api_key,
                project_id=project,
                into=into,
                data_from=payloads,
                concurrency=concurrency,
                dry_run=dry_run,
                report_dir=report_dir,
                on_progress=progress,
            ),
            settings,
        )
    result = summary.to_json()
    if as_json:
        print(json.dumps(result))
        return
    if dry_run:
        print(f"{summary.jobs} jobs in {summary.batches} batches would move: {summary.by_status}")
        print(f"{summary.would_skip} have no data (not completed, not in --data-from)")
        return
    print(
        f"{summary.imported} jobs brought in ({summary.completed} completed) into project "
        f"{summary.project_id}; {summary.already} were already here; {summary.skipped} skipped"
        f" (see {summary.report}); {summary.waits} waits on the source; {summary.seconds} s"
    )
    if summary.api_key:
        console.print("the new project's API key (shown once):")
        print(summary.api_key)


def main() -> None:
    """Entry point of the ``labelyard`` console script."""
    app()


__all__ = ["DEFAULT_PORT", "main"]
