"""Group commit of single creates (``services.jobs.CreateGroups``): concurrent creates of one
process share write transactions, and each keeps its own outcome, position and event."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from labelyard.core.audit import SYSTEM, Actor
from labelyard.core.model import Base, Project
from labelyard.core.validation import JobSpec, WorkflowRef
from labelyard.errors import DuplicateReferenceId, MissingReferenceId
from labelyard.services import accounts, jobs, projects
from labelyard.services.jobs import CreateGroups, _write_group
from labelyard.store.engine import Database
from labelyard.store.migrate import migrate
from labelyard.store.tables import batch, event, job, media_check
from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'groups.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


async def _project(db: Database) -> tuple[Project, str, str]:
    actor = Actor(SYSTEM, "", "")
    issued = await accounts.create_account(db, name="groups", actor=actor)
    made = await projects.create_project(
        db, name="groups", base="IMAGE", account_id=issued.account_id, actor=actor
    )
    project = Project(
        id=made["project_id"], account_id=issued.account_id, name="groups", base=Base.IMAGE
    )
    return project, made["work_flow_id"], made["default_batch_id"]


def _body(flow: str, reference_id: str, image: str = "a") -> dict[str, object]:
    return {
        "reference_id": reference_id,
        "work_flow_id": flow,
        "data": {"image_url": f"https://img.example/{image}.jpg"},
    }


def test_concurrent_single_creates_share_transactions_and_keep_their_own_outcomes(
    db_url: str,
) -> None:
    async def run() -> None:
        db = Database(db_url)
        try:
            await migrate(db)
            project, flow, batch_id = await _project(db)
            groups = CreateGroups()
            bodies: list[object] = [_body(flow, f"g-{i}") for i in range(60)]
            # An identical replay and a conflicting create of one reference id, in flight at
            # once with the others, and one invalid body.
            bodies += [_body(flow, "g-7"), _body(flow, "g-8", image="other"), {"data": {}}]
            outcomes = await asyncio.gather(
                *(groups.create_job(db, project, body) for body in bodies),
                return_exceptions=True,
            )
            made = outcomes[:60]
            assert all(isinstance(o, dict) for o in made), outcomes
            assert [o["reference_id"] for o in made] == [f"g-{i}" for i in range(60)]  # type: ignore[index]
            assert outcomes[60] == made[7]  # the replay answers the job made
            assert isinstance(outcomes[61], DuplicateReferenceId)
            assert isinstance(outcomes[62], MissingReferenceId)

            async with db.read() as conn:
                rows = (
                    await conn.execute(
                        select(job.c.id, job.c.seq)
                        .where(job.c.project_id == project.id)
                        .order_by(job.c.seq)
                    )
                ).all()
                counters = (
                    await conn.execute(
                        select(batch.c.total_jobs, batch.c.last_seq).where(
                            batch.c.project_id == project.id, batch.c.id == batch_id
                        )
                    )
                ).one()
                events = (
                    await conn.execute(
                        select(func.count()).where(
                            event.c.project_id == project.id, event.c.type == "job.created"
                        )
                    )
                ).scalar_one()
                checks = (
                    await conn.execute(
                        select(func.count()).where(media_check.c.project_id == project.id)
                    )
                ).scalar_one()
            # Each job once, at a position of its own (concurrent creates have no order among
            # themselves); the batch counted each once; an event and a media check each.
            assert sorted(r.id for r in rows) == sorted(o["job_id"] for o in made)  # type: ignore[index]
            assert len({r.seq for r in rows}) == 60
            assert counters.total_jobs == 60
            assert counters.last_seq >= 60  # a replay's reserved position stays unused
            assert events == 60 and checks == 60
            # Nothing is left waiting.
            assert groups._waiting == {}
        finally:
            await db.dispose()

    asyncio.run(run())


def test_a_group_whose_transaction_fails_is_retried_one_create_at_a_time(db_url: str) -> None:
    """A create the database refuses (here a workflow that does not exist: a foreign key
    violation) fails alone; the others of its group are created."""

    async def run() -> None:
        db = Database(db_url)
        try:
            await migrate(db)
            project, flow, _ = await _project(db)
            refs = await jobs.workflow_refs(db, project.id)

            def spec(reference_id: str, workflow: WorkflowRef) -> JobSpec:
                return JobSpec(
                    reference_id=reference_id,
                    data={"image_url": "https://img.example/x.jpg"},
                    workflow=workflow,
                    batch_id=None,
                    priority_weight=0,
                    type="NON_TEST",
                    frames=1,
                )

            ghost = WorkflowRef(id="00000000-0000-4000-8000-000000000000", tag="ghost")
            specs = [spec("ok-1", refs[flow]), spec("bad", ghost), spec("ok-2", refs[flow])]
            outcomes = await _write_group(db, project, specs)
            assert isinstance(outcomes[0], tuple) and outcomes[0][1] is True
            assert isinstance(outcomes[1], Exception)
            assert isinstance(outcomes[2], tuple) and outcomes[2][1] is True
            async with db.read() as conn:
                stored = (
                    (
                        await conn.execute(
                            select(job.c.reference_id)
                            .where(job.c.project_id == project.id)
                            .order_by(job.c.seq)
                        )
                    )
                    .scalars()
                    .all()
                )
            assert stored == ["ok-1", "ok-2"]
        finally:
            await db.dispose()

    asyncio.run(run())
