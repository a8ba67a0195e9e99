"""Fixtures: a real labelyard server per database backend, and clients that talk to it.

Every storage test runs on SQLite and on PostgreSQL. PostgreSQL comes from
``LABELYARD_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``); each run
creates a fresh database and drops it at the end. Outside CI an unreachable PostgreSQL skips its
tests with the reason; under ``CI=true`` it fails the run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn

from labelyard.app import create_app, proxy_options
from labelyard.config import Settings
from tests.envelope import check_response


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` (several server processes, whole pulls, crashes) run under
    ``CI=true`` (``.ci/run``); elsewhere they are skipped, so ``make test`` stays quick."""
    if os.environ.get("CI") == "true":
        return
    later = pytest.mark.skip(reason="slow: runs in CI (CI=true make test)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(later)


PG_URL = os.environ.get("LABELYARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_admin(url: str, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    # In a thread of its own: the browser tests' driver keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run; its URL."""
    name = f"labelyard_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        pg_admin(PG_URL, f'CREATE DATABASE "{name}"')
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL unreachable at {PG_URL}: {exc!r}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    base, _, _ = PG_URL.rpartition("/")
    yield f"{base}/{name}"
    pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Server:
    """A labelyard app served by uvicorn on loopback, in a thread of the test process."""

    backend: str
    base_url: str
    settings: Settings

    def client(self, **headers: str) -> httpx.Client:
        """An HTTP client of this server whose every JSON response is checked for API.md keys."""
        return httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=60,
            event_hooks={"response": [check_response]},
        )

    def admin(self) -> httpx.Client:
        return self.client(authorization=f"Bearer {self.settings.admin_token}")


def start_server(settings: Settings, app: Any = None) -> tuple[uvicorn.Server, threading.Thread]:
    """Serve ``app`` (default: ``create_app(settings)``) on loopback in a daemon thread."""
    config = uvicorn.Config(
        app or create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        **proxy_options(settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180  # start-up on a loaded machine
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("labelyard test server did not start")
        time.sleep(0.02)
    return server, thread


def database_url(backend: str, tmp: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'labelyard.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One running server per backend for the whole session."""
    backend: str = request.param
    tmp = tmp_path_factory.mktemp(f"data-{backend}")
    settings = Settings(
        data_dir=tmp,
        database_url=database_url(backend, tmp, request),
        admin_token=secrets.token_urlsafe(16),
        port=free_port(),
        max_body_bytes=1024 * 1024,
        webhooks_allow_private=True,
        # The whole session's tests send wrong keys from one address; the limit has its own test.
        auth_failures_burst=100_000,
    )
    uv, thread = start_server(settings)
    yield Server(backend=backend, base_url=f"http://127.0.0.1:{settings.port}", settings=settings)
    uv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.admin() as client:
        yield client


@dataclass
class ProjectHandle:
    """A project made for one test, with a client that carries its account's key."""

    account_id: str
    project_id: str
    work_flow_id: str
    default_batch_id: str
    api_key: str
    api: httpx.Client

    def job(self, reference_id: str, **overrides: Any) -> dict[str, Any]:
        """A valid IMAGE job create body."""
        body: dict[str, Any] = {
            "reference_id": reference_id,
            "work_flow_id": self.work_flow_id,
            "data": {"image_url": f"https://img.example/{reference_id}.jpg"},
        }
        body.update(overrides)
        return body


@dataclass
class WorkerHandle:
    """A worker of an account, with a client carrying its token."""

    worker_id: str
    role: str
    api: httpx.Client


def make_worker(server: Server, account_id: str, role: str = "both") -> WorkerHandle:
    """A new worker of the account, through the admin API."""
    with server.admin() as admin:
        created = admin.post(
            f"/admin/v1/accounts/{account_id}/workers", json={"name": f"w-{role}", "role": role}
        ).json()["data"]
    return WorkerHandle(
        worker_id=created["worker_id"],
        role=role,
        api=server.client(authorization=f"Bearer {created['token']}"),
    )


def make_project(
    server: Server, base: str = "IMAGE", *, name: str = "test", self_review: bool = True
) -> ProjectHandle:
    """A new account with one project of ``base``, through the admin API.

    ``self_review``: most flow tests drive every step with one ``both`` worker, so their
    projects let a worker review their own work; the queue-rule tests pass False (the default
    of a real project, docs/quality.md)."""
    with server.admin() as admin:
        account = admin.post("/admin/v1/accounts", json={"name": f"acct-{name}"}).json()["data"]
        created = admin.post(
            "/admin/v1/projects",
            json={"name": name, "base": base, "account_id": account["account_id"]},
        ).json()["data"]
    if self_review:
        with server.client(**{"x-api-key": created["api_key"]}) as owner:
            answer = owner.patch(
                f"/v1/projects/{created['project_id']}/quality", json={"allow_self_review": True}
            )
            assert answer.status_code == 200, answer.text
    return ProjectHandle(
        account_id=created["account_id"],
        project_id=created["project_id"],
        work_flow_id=created["work_flow_id"],
        default_batch_id=created["default_batch_id"],
        api_key=created["api_key"],
        api=server.client(**{"x-api-key": created["api_key"]}),
    )


@pytest.fixture
def new_project(server: Server) -> Iterator[Callable[..., ProjectHandle]]:
    """A factory of fresh projects (each in its own account); their clients close afterwards."""
    made: list[ProjectHandle] = []

    def factory(
        base: str = "IMAGE", *, name: str = "test", self_review: bool = True
    ) -> ProjectHandle:
        made.append(make_project(server, base, name=name, self_review=self_review))
        return made[-1]

    yield factory
    for handle in made:
        handle.api.close()


@pytest.fixture
def new_worker(server: Server) -> Iterator[Callable[..., WorkerHandle]]:
    """A factory of workers; their clients close afterwards."""
    made: list[WorkerHandle] = []

    def factory(account_id: str, role: str = "both") -> WorkerHandle:
        made.append(make_worker(server, account_id, role))
        return made[-1]

    yield factory
    for handle in made:
        handle.api.close()


@pytest.fixture
def project(new_project: Callable[..., ProjectHandle]) -> ProjectHandle:
    """A fresh IMAGE project in a fresh account."""
    return new_project()
