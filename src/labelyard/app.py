"""``create_app(settings)``: the whole HTTP application, assembled explicitly."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from labelyard import __version__, api, web
from labelyard.blobs.config import from_settings as blob_store
from labelyard.bootstrap import admin_token
from labelyard.config import Settings
from labelyard.http import errors
from labelyard.http.limits import BodyLimitMiddleware, RateLimitMiddleware, TokenBuckets
from labelyard.http.metrics import Metrics, MetricsMiddleware
from labelyard.http.observability import RequestContextMiddleware
from labelyard.secretbox import secret_box
from labelyard.services.media import MediaSigner
from labelyard.state import AppState
from labelyard.store.engine import Database
from labelyard.store.migrate import migrate
from labelyard.store.secrets import get_or_create_secret
from labelyard.worker.fetch import PinnedSniffer

DESCRIPTION = """
labelyard speaks the Playment / GT Studio jobs API (`/v0`, `/v1`, `/projectsvc`) with
`x-api-key` authentication and the `{"success", "data" | "error"}` envelope, plus labelyard's
extensions (bulk create, lookup by reference id) and management under `/admin/v1`.
"""


def create_app(settings: Settings) -> FastAPI:
    """The labelyard HTTP application for ``settings``; connects and migrates on start."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.resolved_database_url(), pool_size=settings.db_pool_size)
        media_client = httpx.AsyncClient(follow_redirects=False)
        sniffer = PinnedSniffer(media_client, allow_private=settings.webhooks_allow_private)
        try:
            await migrate(db)
            async with db.write() as conn:
                token_key = await get_or_create_secret(
                    conn, name="page_token_key", factory=lambda: secrets.token_hex(32)
                )
                file_key = await get_or_create_secret(
                    conn, name="file_link_key", factory=lambda: secrets.token_hex(32)
                )
                session_key = await get_or_create_secret(
                    conn, name="web_session_key", factory=lambda: secrets.token_hex(32)
                )
            app.state.labelyard = AppState(
                settings=settings,
                db=db,
                blobs=blob_store(settings),
                token_key=bytes.fromhex(token_key),
                file_key=bytes.fromhex(file_key),
                session_key=bytes.fromhex(session_key),
                admin_token=admin_token(settings),
                media=MediaSigner(secret_box(settings), link_seconds=settings.media_link_seconds),
                sniffer=sniffer,
            )
            yield
        finally:
            await media_client.aclose()
            sniffer.close()
            await db.dispose()

    app = FastAPI(
        title="labelyard",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.metrics = Metrics()
    errors.install(app, pages=errors.Pages(is_page=web.is_page, render=web.error_page))
    api.mount(app)
    web.mount(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.rate_limit_per_second > 0:
        buckets = TokenBuckets(settings.rate_limit_per_second, settings.rate_limit_burst)
        app.add_middleware(RateLimitMiddleware, buckets=buckets)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(errors.FaultBarrier)
    app.add_middleware(RequestContextMiddleware)
    return app
