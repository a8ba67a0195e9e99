"""A job's workflow and batch are checked once per create transaction (the job table has no
foreign keys to them): a create naming another project's workflow writes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from labelyard.core.audit import SYSTEM, Actor
from labelyard.core.model import Base, Project
from labelyard.core.validation import WorkflowRef, parse_job_create
from labelyard.services import accounts, jobs, projects
from labelyard.store.engine import Database
from labelyard.store.migrate import migrate
from labelyard.store.tables import batch, event, job, media_check
from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'references.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


async def _project(db: Database, name: str) -> tuple[Project, str]:
    actor = Actor(SYSTEM, "", "")
    issued = await accounts.create_account(db, name=name, actor=actor)
    made = await projects.create_project(
        db, name=name, base="IMAGE", account_id=issued.account_id, actor=actor
    )
    project = Project(
        id=made["project_id"], account_id=issued.account_id, name=name, base=Base.IMAGE
    )
    return project, made["work_flow_id"]


def test_a_create_naming_another_projects_workflow_writes_nothing(db_url: str) -> None:
    async def run() -> None:
        db = Database(db_url)
        try:
            await migrate(db)
            project, own = await _project(db, "refs-a")
            _, foreign = await _project(db, "refs-b")
            refs = {own: WorkflowRef(id=own, tag="own"), foreign: WorkflowRef(id=foreign, tag="x")}
            specs = [
                parse_job_create(
                    {
                        "reference_id": f"r-{i}",
                        "work_flow_id": flow,
                        "data": {"image_url": f"https://img.example/{i}.jpg"},
                    },
                    base=project.base,
                    workflows=refs,
                )
                for i, flow in enumerate([own, foreign, own])
            ]
            with pytest.raises(LookupError):
                async with db.write() as conn:
                    await jobs.insert_specs(conn, project, specs)

            async with db.read() as conn:
                for table in (job, event, media_check):
                    count = select(func.count()).where(table.c.project_id == project.id)
                    written = (await conn.execute(count)).scalar_one()
                    assert written == 0 or table is event, table.name
                kinds = select(event.c.type).where(event.c.project_id == project.id)
                assert "job.created" not in (await conn.execute(kinds)).scalars().all()
                totals = select(batch.c.total_jobs, batch.c.last_seq).where(
                    batch.c.project_id == project.id
                )
                assert (await conn.execute(totals)).all() == [(0, 0)]

            # With the project's own workflow only, the same creates go in.
            async with db.write() as conn:
                outcomes = await jobs.insert_specs(conn, project, [specs[0], specs[2]])
            assert all(isinstance(outcome, tuple) and outcome[1] for outcome in outcomes)
        finally:
            await db.dispose()

    asyncio.run(run())
