"""Open routes for operators: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from labelyard.api.deps import State
from labelyard.core import lifecycle
from labelyard.http.metrics import Metrics


async def healthz() -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(state: State) -> Response:
    """The process can reach its database."""
    try:
        await state.db.ping()
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": state.db.dialect})


async def metrics(request: Request, state: State) -> Response:
    """Prometheus text exposition: this process's request figures and the shared work state."""
    figures: Metrics = request.app.state.metrics
    shared = await figures.shared(state.db)
    for step in lifecycle.STEP_KINDS:
        figures.queue_jobs.labels(step).set(shared.queue_jobs.get(step, 0))
    figures.outbox_lag.set(shared.outbox_lag)
    for status in ("pending", "succeeded", "failed"):
        figures.webhook_deliveries.labels(status).set(shared.webhook_deliveries.get(status, 0))
    return Response(generate_latest(figures.registry), media_type=CONTENT_TYPE_LATEST)
