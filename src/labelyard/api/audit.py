"""The audit log: a project's (x-api-key of its account) and the whole server's (admin)."""

from __future__ import annotations

from starlette.responses import Response

from labelyard.api.deps import ProjectAccess, State
from labelyard.http.envelope import ok
from labelyard.services import audit


async def project_log(
    project: ProjectAccess,
    state: State,
    page_token: str | None = None,
    limit: str | None = None,
) -> Response:
    """The project's entries and its account's (keys, workers), newest first."""
    page = await audit.project_log(
        state.db, project, page_token=page_token, limit=limit, token_key=state.token_key
    )
    return ok(page)


async def admin_log(
    state: State,
    account_id: str | None = None,
    page_token: str | None = None,
    limit: str | None = None,
) -> Response:
    """Every entry, or one account's (``account_id``), newest first."""
    page = await audit.admin_log(
        state.db,
        account_id=account_id,
        page_token=page_token,
        limit=limit,
        token_key=state.token_key,
    )
    return ok(page)
