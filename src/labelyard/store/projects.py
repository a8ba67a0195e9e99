"""Projects and their workflows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.errors import InvalidInput
from labelyard.store import Record
from labelyard.store.tables import api_key, project, workflow


async def insert_project(
    conn: AsyncConnection, *, id: str, account_id: str, name: str, base: str, now: datetime
) -> None:
    """Store a new project."""
    await conn.execute(
        project.insert().values(id=id, account_id=account_id, name=name, base=base, created_at=now)
    )


# Built once with bound parameters: most pages and many API calls read a project.
_PROJECT = select(project).where(project.c.id == bindparam("id"))
_LISTED = select(
    project.c.id, project.c.account_id, project.c.name, project.c.base, project.c.quality
).order_by(project.c.name, project.c.id)
_ACCOUNT_LISTED = _LISTED.where(project.c.account_id == bindparam("account_id"))


async def get_project(conn: AsyncConnection, *, id: str) -> Record | None:
    """A project row (id, account_id, name, base, created_at)."""
    return (await conn.execute(_PROJECT, {"id": id})).first()


async def list_projects(conn: AsyncConnection, *, account_id: str | None) -> list[Record]:
    """The projects of an account (of every account for ``None``), by name."""
    if account_id is None:
        return list((await conn.execute(_LISTED)).all())
    return list((await conn.execute(_ACCOUNT_LISTED, {"account_id": account_id})).all())


# Built once with bound parameters: every API request authenticates with it.
_PROJECT_FOR_KEY = (
    select(
        api_key.c.account_id.label("key_account_id"),
        api_key.c.id.label("key_id"),
        project.c.id,
        project.c.account_id,
        project.c.name,
        project.c.base,
    )
    .select_from(api_key.outerjoin(project, project.c.id == bindparam("project_id")))
    .where(api_key.c.key_hash == bindparam("key_hash"), api_key.c.revoked_at.is_(None))
)


async def project_for_key(
    conn: AsyncConnection, *, key_hash: str, project_id: str
) -> Record | None:
    """The key's account and the project (or NULLs), in one round trip.

    ``None`` means the key is unknown or revoked; ``project_id`` NULL in the row means no such
    project.
    """
    values = {"key_hash": key_hash, "project_id": project_id}
    return (await conn.execute(_PROJECT_FOR_KEY, values)).first()


async def insert_workflow(
    conn: AsyncConnection,
    *,
    id: str,
    project_id: str,
    name: str,
    tag: str,
    steps: list[str],
    is_default: bool,
    now: datetime,
) -> None:
    """Store a workflow; its tag must be new in the project."""
    try:
        await conn.execute(
            workflow.insert().values(
                id=id,
                project_id=project_id,
                name=name,
                tag=tag,
                steps=steps,
                is_default=is_default,
                created_at=now,
            )
        )
    except IntegrityError:
        raise InvalidInput(f"a workflow tagged {tag!r} already exists in this project") from None


_LIST_WORKFLOWS = (
    select(workflow.c.id, workflow.c.name, workflow.c.tag, workflow.c.steps)
    .where(workflow.c.project_id == bindparam("project_id"))
    .order_by(workflow.c.is_default.desc(), workflow.c.created_at)
)


async def list_workflows(conn: AsyncConnection, *, project_id: str) -> list[Record]:
    """The project's workflows, default first (every create reads them: built once)."""
    return list((await conn.execute(_LIST_WORKFLOWS, {"project_id": project_id})).all())


_WORKFLOWS_IN_PROJECT = select(workflow.c.id).where(
    workflow.c.project_id == bindparam("project_id"),
    workflow.c.id.in_(bindparam("ids", expanding=True)),
)


async def workflows_in_project(
    conn: AsyncConnection, *, project_id: str, ids: set[str]
) -> set[str]:
    """Which of ``ids`` are workflows of the project, read in the caller's transaction: jobs
    reference their workflow through this check, once per create transaction.

    Not locked (a foreign key's trigger took ``FOR KEY SHARE``): workflows are never deleted
    and their keys never change, and concurrent creates locking the one workflow row before
    their batch row shared the lock (a multixact each), which cost PostgreSQL's single creates
    under load about a quarter of their rate."""
    values = {"project_id": project_id, "ids": sorted(ids)}
    return {str(id) for id in (await conn.execute(_WORKFLOWS_IN_PROJECT, values)).scalars()}


async def set_label_schema(conn: AsyncConnection, *, id: str, label_schema: Any) -> bool:
    """Replace the project's label schema; False if no such project."""
    result = await conn.execute(
        update(project).where(project.c.id == id).values(label_schema=label_schema)
    )
    return result.rowcount == 1
