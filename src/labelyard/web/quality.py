"""The owner's quality page: the project's rules, worker groups, assignments and the workers'
accepted, rejected and gold figures. Forms post here (CSRF-checked) and come back to the page
with what happened, or the error, in the query string."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from labelyard.core import commands
from labelyard.core.model import Project
from labelyard.errors import InvalidInput, LabelyardError
from labelyard.services import quality
from labelyard.web import redirect, render, session
from labelyard.web.owner import PROJECT, _project


def _page(project: Project, **outcome: str) -> Response:
    query = "&".join(f"{k}={quote(v)}" for k, v in outcome.items())
    return redirect(f"/ui/projects/{project.id}/quality" + (f"?{query}" if query else ""))


async def quality_page(request: Request, project_id: str) -> Response:
    project = await _project(request, project_id)
    found = await quality.overview(session.state_of(request).db, project)
    names = {w["worker_id"]: w["name"] for w in found["workers"]}
    return render(
        request,
        "owner_quality.html",
        project=project,
        names=names,
        done=request.query_params.get("done", ""),
        error=request.query_params.get("error", ""),
        **found,
    )


def _number(fields: dict[str, str], name: str, kind: type[Any]) -> Any:
    value = fields.get(name, "").strip()
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"{name.replace('_', ' ')} must be a number") from None


def _settings_patch(fields: dict[str, str]) -> dict[str, Any]:
    """The settings form as a patch of every rule it shows."""
    full_until = fields.get("full_until", "").strip()
    pools = {kind: fields.get(f"pool_{kind}") or None for kind in ("annotate", "review")}
    return {
        "allow_self_review": fields.get("allow_self_review") == "on",
        "rejected_to": fields.get("rejected_to", ""),
        "reject_reasons": [
            line.strip() for line in fields.get("reject_reasons", "").splitlines() if line.strip()
        ],
        "pools": pools,
        "gold_rate": _number(fields, "gold_rate", float),
        "sampling": None
        if not full_until and not fields.get("sample_rate", "").strip()
        else {
            "full_until": _number(fields, "full_until", int) if full_until else 0,
            "rate": _number(fields, "sample_rate", float),
        },
        "overlap": _number(fields, "overlap", int),
        "agreement_threshold": _number(fields, "agreement_threshold", float),
    }


async def _handled(request: Request, project_id: str, work: Any) -> Response:
    """Run one form's change; back to the page with its outcome (errors shown, not raised)."""
    fields = await session.form(request)  # the CSRF check comes first, as on every post
    project = await _project(request, project_id)
    db = session.state_of(request).db
    try:
        message = await work(db, project, fields)
    except LabelyardError as exc:
        return _page(project, error=exc.message)
    return _page(project, done=message)


async def save_settings(request: Request, project_id: str) -> Response:
    async def work(db: Any, project: Project, fields: dict[str, str]) -> str:
        await quality.update(db, project, _settings_patch(fields))
        return "Rules saved."

    return await _handled(request, project_id, work)


async def add_group(request: Request, project_id: str) -> Response:
    async def work(db: Any, project: Project, fields: dict[str, str]) -> str:
        name = commands.parse_group_create({"name": fields.get("name", "").strip()})
        await quality.create_group(db, project, name=name)
        return f"Group {name} added."

    return await _handled(request, project_id, work)


async def save_members(request: Request, project_id: str, group_id: str) -> Response:
    async def work(db: Any, project: Project, fields: dict[str, str]) -> str:
        ids = [key[2:] for key, value in fields.items() if key.startswith("w:") and value == "on"]
        members = commands.parse_members({"worker_ids": ids})
        await quality.set_members(db, project, group_id=group_id, worker_ids=members)
        return "Members saved."

    return await _handled(request, project_id, work)


async def assign(request: Request, project_id: str) -> Response:
    async def work(db: Any, project: Project, fields: dict[str, str]) -> str:
        target = fields.get("to", "")
        kind, _, ident = target.partition(":")
        body: dict[str, Any] = {}
        if kind == "worker":
            body = {"worker_id": ident, "only": fields.get("first") != "on"}
        elif kind == "group":
            body = {"group_id": ident}
        to = commands.parse_assign(body)
        job_id, batch_id = fields.get("job_id", "").strip(), fields.get("batch_id", "")
        if job_id:
            await quality.assign_job(db, project, job_id=job_id, to=to)
            return f"Job {job_id} {'assigned' if body else 'unassigned'}."
        if not batch_id:
            raise InvalidInput("give a job id or choose a batch")
        done = await quality.assign_batch(db, project, batch_id=batch_id, to=to)
        verb = "assigned" if body else "unassigned"
        return f"{done['assigned_jobs']} unfinished jobs of the batch {verb}."

    return await _handled(request, project_id, work)


ROUTES = (
    ("GET", f"{PROJECT}/quality", quality_page),
    ("POST", f"{PROJECT}/quality/settings", save_settings),
    ("POST", f"{PROJECT}/quality/groups", add_group),
    ("POST", f"{PROJECT}/quality/groups/{{group_id}}/members", save_members),
    ("POST", f"{PROJECT}/quality/assign", assign),
)
