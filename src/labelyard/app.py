"""``create_app(settings)``: the whole HTTP application, assembled explicitly."""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import random
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp

from labelyard import __version__, api, web
from labelyard.api import docs
from labelyard.blobs.config import from_settings as blob_store
from labelyard.bootstrap import admin_token
from labelyard.config import Settings
from labelyard.core.buckets import TokenBuckets
from labelyard.datadir import prepare_data_dir
from labelyard.http import errors
from labelyard.http.edge import Edge
from labelyard.http.metrics import Metrics
from labelyard.outbound import outbound_from_settings
from labelyard.secretbox import secret_box
from labelyard.services import webhooks
from labelyard.services.media import MediaSigner
from labelyard.state import AppState
from labelyard.store.engine import Database
from labelyard.store.migrate import migrate
from labelyard.store.secrets import get_or_create_secret

log = logging.getLogger("labelyard")

DESCRIPTION = """
labelyard speaks the Playment / GT Studio jobs API (`/v0`, `/v1`, `/projectsvc`) with
`x-api-key` authentication and the `{"success", "data" | "error"}` envelope, plus labelyard's
extensions (bulk create, lookup by reference id) and management under `/admin/v1`.
"""


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for forwarded headers: believed only from ``LABELYARD_TRUSTED_PROXIES``
    (uvicorn's own default trusts 127.0.0.1, so anyone on the host could pick an address)."""
    trusted = settings.trusted_proxy_list()
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or ""}


SERVE_PARENT_ENV = "LABELYARD_SERVE_PARENT"
"""Set by ``labelyard serve --workers N`` for its worker processes: the parent's pid (a worker
dies with its parent) and the sign that start-up work (migrations, secrets) is already done."""

_PR_SET_PDEATHSIG = 1


def worker_app() -> Labelyard:
    """The application of one ``serve --workers N`` process (uvicorn's factory): settings from
    the environment the parent prepared; no migrations (the parent ran them before forking)."""
    from labelyard.logs import configure

    parent = int(os.environ.get(SERVE_PARENT_ENV, "0"))
    if parent and sys.platform == "linux":
        # Die with the parent even when it is SIGKILLed: no orphan keeps the port.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    settings = Settings()
    configure(settings.log_level, settings.log_format)
    return create_app(settings, migrated=bool(parent), serving=True)


async def load_secrets(db: Database) -> tuple[str, str, str]:
    """The page-token, file-link and web-session keys, created by whichever process asks first."""
    async with db.write() as conn:
        return (
            await get_or_create_secret(
                conn, name="page_token_key", factory=lambda: secrets.token_hex(32)
            ),
            await get_or_create_secret(
                conn, name="file_link_key", factory=lambda: secrets.token_hex(32)
            ),
            await get_or_create_secret(
                conn, name="web_session_key", factory=lambda: secrets.token_hex(32)
            ),
        )


class Labelyard(FastAPI):
    """FastAPI with one edge layer (``http.edge.Edge``) in place of Starlette's and FastAPI's
    outer middlewares: the stack is Edge → exception handlers → router."""

    edge: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        handlers = {k: v for k, v in self.exception_handlers.items() if k not in (500, Exception)}
        inner: ASGIApp = ExceptionMiddleware(
            AsyncExitStackMiddleware(self.router), handlers=handlers, debug=self.debug
        )
        for cls, args, kwargs in reversed(self.user_middleware):  # none of ours; kept for others
            inner = cls(inner, *args, **kwargs)
        return self.edge(inner) if self.edge is not None else inner


def _settle_collector() -> None:
    """Leave what start-up made (modules, routes, tables, compiled statements: about 190,000
    objects that live as long as the process) out of the collector's full walks.

    A page of 1,000 jobs or a list call of 100 allocates thousands of containers; every few
    such requests the collector walked the whole heap, start-up objects included (tens of ms
    each on a loaded machine). Frozen, they are never walked again; what requests make is
    collected as before.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings, *, migrated: bool = False, serving: bool = False) -> Labelyard:
    """The labelyard HTTP application for ``settings``; connects (and migrates, unless
    ``migrated``) on start. ``serving``: the application of a ``labelyard serve`` process,
    which freezes what start-up made (``_settle_collector``); not for applications made and
    dropped in one process, as tests do (frozen objects are never collected)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        prepare_data_dir(settings)
        db = Database(settings.resolved_database_url(), pool_size=settings.db_pool_size)
        outbound = outbound_from_settings(settings)
        try:
            if not migrated:
                await migrate(db)
            token_key, file_key, session_key = await load_secrets(db)
            box = secret_box(settings)
            if sealed := await webhooks.seal_plain_secrets(db, box):
                log.info("sealed %d webhook signing secrets stored by an older version", sealed)
            app.state.labelyard = AppState(
                settings=settings,
                db=db,
                blobs=blob_store(settings),
                token_key=bytes.fromhex(token_key),
                file_key=bytes.fromhex(file_key),
                session_key=bytes.fromhex(session_key),
                admin_token=admin_token(settings),
                outbound=outbound,
                rng=random.Random(settings.random_seed),
                media=MediaSigner(box, link_seconds=settings.media_link_seconds),
                box=box,
            )
            if serving:
                _settle_collector()
            yield
        finally:
            await outbound.aclose()
            await db.dispose()

    app = Labelyard(
        title="labelyard",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by api.docs from local files, not a CDN
        redoc_url=None,
    )
    app.state.metrics = Metrics()
    errors.install(app, pages=errors.Pages(is_page=web.is_page, render=web.error_page))
    api.mount(app)
    docs.mount(app)
    web.mount(app)
    per_credential = failures = None
    if settings.rate_limit_per_second > 0:
        per_credential = TokenBuckets(
            settings.rate_limit_per_second, settings.rate_limit_burst, clock=time.monotonic
        )
    if settings.auth_failures_per_minute > 0:
        failures = TokenBuckets(
            settings.auth_failures_per_minute / 60,
            settings.auth_failures_burst,
            clock=time.monotonic,
        )
    app.edge = partial(
        Edge,
        metrics=app.state.metrics,
        max_body_bytes=settings.max_body_bytes,
        per_credential=per_credential,
        failures=failures,
    )
    return app
