"""Writing what ``labelyard pull`` brings in: the project, its batches and workflows, and the
jobs a page at a time, each page in one transaction.

A job is inserted like any create (``services.jobs.insert_specs``: validated, counted in its
batch, a ``job.created`` event); a job completed at the source is then completed here by the
state machine's ``imported`` action (``core.lifecycle.import_completed``), an aborted one by
``abort``, both applied by ``services.lifecycle.apply_all`` in the same transaction: a job is
never seen created that should be completed, and a page is all there or not at all.

Reference ids decide what is already here: a job whose ``reference_id`` the project has is
left alone (a second run, or a run after a crash, never duplicates).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labelyard.blobs import BlobStore, segmentation_key
from labelyard.core import annotations as notes
from labelyard.core import lifecycle, pull
from labelyard.core.audit import SYSTEM, Actor
from labelyard.core.commands import BatchCreate
from labelyard.core.ids import require_uuid
from labelyard.core.model import DEFAULT_WORKFLOW_TAG, Base, JobStatus, Project
from labelyard.core.pull import Imported, SourceBatch
from labelyard.core.schema import parse_schema
from labelyard.core.validation import JobSpec, error_of, parse_job_create
from labelyard.errors import InvalidInput, LabelyardError, MissingParameter, NotFound
from labelyard.services import batches as batch_service
from labelyard.services import jobs as job_service
from labelyard.services import projects as project_service
from labelyard.services import utcnow
from labelyard.services.lifecycle import apply_all, state_of
from labelyard.store import batches as batch_store
from labelyard.store import jobs as job_store
from labelyard.store import projects as project_store
from labelyard.store import work as work_store
from labelyard.store.engine import Database

EXISTS = "exists"
"""The outcome of a job the project already has (by ``reference_id``)."""

SEGMENTATION = "segmentation"
"""``ImportItem.files``: a point-segmentation result's PCD, stored beside the result."""


# Who the audit log names for what a pull creates (run by ``labelyard pull`` or the worker).
PULLER = Actor(SYSTEM, "pull")


@dataclass(frozen=True, slots=True)
class ImportItem:
    """A job to bring in: its create body, its status at the source and, when completed there,
    its result (masks inlined) and the files it links (``SEGMENTATION``: the PCD's bytes)."""

    body: dict[str, Any]
    status: str
    imported: Imported | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)


async def open_project(
    db: Database, *, into: str | None, name: str, base: Base
) -> tuple[Project, str | None]:
    """The destination: the project ``into`` (of the same base), or a new one named ``name``
    in the default account (with the new API key, shown once)."""
    if into is None:
        created = await project_service.create_project(db, name=name, base=base.value, actor=PULLER)
        project = Project(
            id=created["project_id"], account_id=created["account_id"], name=name, base=base
        )
        return project, created["api_key"]
    project_id = require_uuid(into, "--into")
    async with db.read() as conn:
        row = await project_store.get_project(conn, id=project_id)
    if row is None:
        raise NotFound(f"no project {project_id}")
    if row.base != base.value:
        raise InvalidInput(f"project {project_id} is {row.base}; the source project is {base}")
    return Project(id=row.id, account_id=row.account_id, name=row.name, base=Base(row.base)), None


async def project_of(db: Database, project_id: str) -> Project:
    """The destination project a checkpoint names."""
    async with db.read() as conn:
        row = await project_store.get_project(conn, id=project_id)
    if row is None:
        raise NotFound(f"the project {project_id} of this pull's checkpoint is gone")
    return Project(id=row.id, account_id=row.account_id, name=row.name, base=Base(row.base))


async def ensure_batch(db: Database, project: Project, source: SourceBatch) -> str:
    """The destination batch of a source batch: the default batch for the default one, else
    the batch of the same name (made if missing)."""
    async with db.read() as conn:
        batches = await batch_store.list_batches(conn, project_id=project.id)
    for batch in batches:
        if (source.is_default and batch.is_default) or (
            not source.is_default and batch.name == source.name
        ):
            return str(batch.id)
    created = await batch_service.create_batch(
        db, project, BatchCreate(name=source.name, description=source.description), actor=PULLER
    )
    return created["batch_id"]


async def ensure_workflow(db: Database, project: Project, tag: str) -> str:
    """The tag jobs of source tag ``tag`` are created with: the project's workflow of that tag
    (made, annotate then review, if missing); the default workflow for no tag."""
    tag = tag or DEFAULT_WORKFLOW_TAG
    if tag not in await job_service.workflow_refs(db, project.id):
        await project_service.create_workflow(
            db, project_id=project.id, name=tag, tag=tag, actor=PULLER
        )
    return tag


async def import_page(
    db: Database,
    blobs: BlobStore,
    project: Project,
    items: Sequence[ImportItem],
    *,
    base_url: str,
) -> list[str | None]:
    """Bring ``items`` in, in one transaction; an outcome per item: None (brought in),
    ``EXISTS`` (already here) or why it was skipped."""
    outcomes: list[str | None] = [None] * len(items)
    workflows = await job_service.workflow_refs(db, project.id)
    now = utcnow()
    async with db.write() as conn:
        references = [str(item.body["reference_id"]) for item in items]
        here = await job_store.jobs_by_reference(
            conn, project_id=project.id, reference_ids=references
        )
        specs: list[JobSpec] = []
        placed: list[int] = []
        for i, item in enumerate(items):
            if references[i] in here:
                outcomes[i] = EXISTS
                continue
            try:
                specs.append(parse_job_create(item.body, base=project.base, workflows=workflows))
            except LabelyardError as exc:
                outcomes[i] = f"{exc.code}: {exc.message}"
                continue
            placed.append(i)
        inserted = await job_service.insert_specs(conn, project, specs)
        finishing: dict[str, ImportItem] = {}
        for i, outcome in zip(placed, inserted, strict=True):
            if isinstance(outcome, LabelyardError):
                outcomes[i] = f"{outcome.code}: {outcome.message}"
            elif items[i].status in (JobStatus.COMPLETED.value, JobStatus.ABORTED.value):
                finishing[outcome[0]["id"]] = items[i]
        rows = await work_store.read_jobs(conn, project_id=project.id, job_ids=list(finishing))
        changes = []
        for row in rows:
            item = finishing[row.id]
            state = state_of(row)
            if item.imported is None:
                changes.append((row, lifecycle.abort(state)))
            else:
                imported = item.imported
                pcd = item.files.get(SEGMENTATION)
                if pcd is not None:
                    # Copied byte for byte; the result links this server's copy (API.md 3.7).
                    key = segmentation_key(project.id, row.id)
                    await blobs.put(key, pcd)
                    imported = pull.with_segmentation(
                        imported, blobs.private_url(key, base_url=base_url)
                    )
                change = lifecycle.import_completed(
                    state,
                    base=project.base,
                    annotations=imported.annotations,
                    result=imported.result,
                    now=now,
                )
                changes.append((row, change))
        if changes:
            await apply_all(conn, project.id, changes, now=now, blobs=blobs, base_url=base_url)
    return outcomes


async def create_completed(
    db: Database, blobs: BlobStore, project: Project, items: list[object], *, base_url: str
) -> dict[str, Any]:
    """Create jobs completed at once with the ``annotations`` each item carries (labels made
    elsewhere, ``labelyard jobs import --as-completed``): each item is a create body (API.md
    3.2) plus ``annotations`` in labelyard's layout, checked as a submit would be. An outcome
    per item, in order, as a bulk create answers; a ``reference_id`` already there is left
    alone (``created: false``)."""
    async with db.read() as conn:
        row = await project_store.get_project(conn, id=project.id)
    if row is None:
        raise NotFound(f"no project {project.id}")
    schema = parse_schema(row.label_schema, project.base)
    workflows = await job_service.workflow_refs(db, project.id)
    results: list[dict[str, Any] | None] = [None] * len(items)
    valid: list[tuple[int, ImportItem]] = []
    for i, item in enumerate(items):
        reference = item.get("reference_id") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict) or "annotations" not in item:
                raise MissingParameter("annotations is required")
            body = {k: v for k, v in item.items() if k != "annotations"}
            spec = parse_job_create(body, base=project.base, workflows=workflows)
            annotations = item["annotations"]
            notes.validate(annotations, base=project.base, schema=schema, data=spec.data)
        except LabelyardError as exc:
            results[i] = {"reference_id": reference, "error": error_of(exc)}
            continue
        result = notes.result_document(project.base, spec.data, annotations)
        imported = Imported(data=spec.data, annotations=annotations, result=result)
        valid.append(
            (i, ImportItem(body=body, status=JobStatus.COMPLETED.value, imported=imported))
        )
    outcomes = await import_page(db, blobs, project, [v for _, v in valid], base_url=base_url)
    for (i, item), outcome in zip(valid, outcomes, strict=True):
        reference = item.body["reference_id"]
        if outcome is None or outcome == EXISTS:
            results[i] = {"reference_id": reference, "created": outcome is None}
        else:
            code, _, message = outcome.partition(": ")
            results[i] = {"reference_id": reference, "error": {"code": code, "message": message}}
    return {"results": results}
