"""A project's analytics (x-api-key): per worker, per batch, per day; JSON or CSV."""

from __future__ import annotations

from starlette.responses import Response

from labelyard.api.deps import ProjectAccess, State
from labelyard.core import analytics as figures
from labelyard.http.envelope import ok
from labelyard.services import analytics


async def report(
    project: ProjectAccess,
    state: State,
    since: str | None = None,
    until: str | None = None,
    batch_id: str | None = None,
) -> Response:
    """Workers' and batches' figures, the daily totals over ``since``..``until``, and the
    progress day by day of the batches named (``batch_id=a,b``, up to 8) or the 8 busiest."""
    found = await analytics.report_for(
        state.db, project, since=since, until=until, batch_ids=batch_id
    )
    return ok(found.to_json())


def _csv(body: str, name: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


async def workers_csv(
    project: ProjectAccess, state: State, since: str | None = None, until: str | None = None
) -> Response:
    """The workers' figures as CSV, one row a worker."""
    first, last, workers = await analytics.workers_report(
        state.db, project, since=since, until=until
    )
    return _csv(figures.workers_csv(workers), f"workers-{first}-{last}.csv")


async def batches_csv(
    project: ProjectAccess, state: State, since: str | None = None, until: str | None = None
) -> Response:
    """The batches' figures as CSV, one row a batch and day."""
    found = await analytics.report_for(
        state.db, project, since=since, until=until, every_batch=True
    )
    return _csv(figures.batches_csv(found.progress), f"batches-{found.since}-{found.until}.csv")
