"""Single sign-on by OpenID Connect: a real provider on loopback (tests/oidc_provider.py), the
admin's configuration, and full sign-ins in Chromium for a worker and an owner."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from labelyard.store.engine import Database
from labelyard.store.tables import sso_provider
from tests.conftest import ProjectHandle, Server, WorkerHandle
from tests.oidc_provider import Provider, oidc_provider

NewWorker = Callable[..., WorkerHandle]


@pytest.fixture
def provider() -> Iterator[Provider]:
    with oidc_provider() as running:
        yield running


def configure(admin: httpx.Client, project: ProjectHandle, provider: Provider) -> dict[str, Any]:
    answer = admin.put(
        f"/admin/v1/accounts/{project.account_id}/sso",
        json={
            "name": "Acme login",
            "issuer": provider.issuer,
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
            "match": "email",
            "owners": ["Olga@Example.com"],
        },
    )
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def sealed_secrets(server: Server) -> list[str]:
    async def read() -> list[str]:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            async with db.read() as conn:
                rows = await conn.execute(select(sso_provider.c.client_secret_sealed))
                return [row[0] for row in rows]
        finally:
            await db.dispose()

    # In a thread of its own: the browser tests' driver keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def test_the_client_secret_is_kept_sealed_and_never_shown(
    server: Server, admin: httpx.Client, project: ProjectHandle, provider: Provider
) -> None:
    shown = configure(admin, project, provider)
    assert shown["has_client_secret"] is True
    assert provider.client_secret not in str(shown)
    again = admin.get(f"/admin/v1/accounts/{project.account_id}/sso").json()["data"]
    assert provider.client_secret not in str(again) and again["owners"] == ["olga@example.com"]
    stored = sealed_secrets(server)
    assert stored and all(provider.client_secret not in value for value in stored)
    log = project.api.get(f"/v1/projects/{project.project_id}/audit").json()["data"]["entries"]
    assert log[0]["action"] == "sso.configure"
    assert provider.client_secret not in str(log)
    # A change without a secret keeps the old one; a bad body changes nothing.
    keep = {"issuer": provider.issuer, "client_id": provider.client_id, "match": "subject"}
    assert admin.put(f"/admin/v1/accounts/{project.account_id}/sso", json=keep).is_success
    bad = admin.put(f"/admin/v1/accounts/{project.account_id}/sso", json={"issuer": "ftp://x"})
    assert bad.status_code == 400
    with server.client(**{"x-api-key": project.api_key}) as owner:
        assert owner.get(f"/admin/v1/accounts/{project.account_id}/sso").status_code == 401


def test_a_worker_and_an_owner_sign_in_through_the_provider(
    server: Server,
    admin: httpx.Client,
    project: ProjectHandle,
    new_worker: NewWorker,
    provider: Provider,
    new_page: Callable[[], Any],
) -> None:
    configure(admin, project, provider)
    worker = new_worker(project.account_id, "annotator")
    identity = admin.put(
        f"/admin/v1/workers/{worker.worker_id}/identity", json={"email": "Ana@Example.com"}
    )
    assert identity.status_code == 200, identity.text

    provider.user = {"sub": "u-ana", "email": "ana@example.com", "email_verified": True}
    page = new_page()
    page.goto(f"{server.base_url}/ui/login")
    page.click(f'a[href="/ui/sso/{project.account_id}?as=worker"]')
    page.wait_for_url(f"{server.base_url}/ui/queue")
    assert "Sign out" in page.content()
    form = provider.token_requests[-1]
    assert form["code_verifier"] and "client_secret" not in form

    provider.user = {"sub": "u-olga", "email": "olga@example.com", "email_verified": True}
    owner = new_page()
    owner.goto(f"{server.base_url}/ui/login")
    owner.click(f'a[href="/ui/sso/{project.account_id}?as=owner"]')
    owner.wait_for_url(f"{server.base_url}/ui/projects")
    assert project.project_id in owner.content()
    # Removing the owner from the provider's list ends that sign-in at once.
    admin.put(
        f"/admin/v1/accounts/{project.account_id}/sso",
        json={"issuer": provider.issuer, "client_id": provider.client_id, "owners": []},
    )
    owner.goto(f"{server.base_url}/ui/projects")
    assert owner.url == f"{server.base_url}/ui/login"


def test_an_identity_nobody_has_is_refused(
    server: Server,
    admin: httpx.Client,
    project: ProjectHandle,
    provider: Provider,
    new_page: Callable[[], Any],
) -> None:
    configure(admin, project, provider)
    provider.user = {"sub": "u-eve", "email": "eve@example.com", "email_verified": True}
    page = new_page()
    page.goto(f"{server.base_url}/ui/login")
    with page.expect_response(lambda r: "/ui/sso/callback" in r.url) as answer:
        page.click(f'a[href="/ui/sso/{project.account_id}?as=worker"]')
    assert answer.value.status == 401
    assert "no worker of the account" in page.content()
    # Unverified e-mails prove nothing, even a worker's.
    provider.user = {"sub": "u-x", "email": "olga@example.com", "email_verified": False}
    with page.expect_response(lambda r: "/ui/sso/callback" in r.url) as answer:
        page.goto(f"{server.base_url}/ui/sso/{project.account_id}?as=owner")
    assert answer.value.status == 401


def test_a_callback_without_its_start_is_refused(server: Server) -> None:
    with httpx.Client(base_url=server.base_url) as browser:
        answer = browser.get("/ui/sso/callback", params={"code": "c", "state": "s"})
        assert answer.status_code == 401
