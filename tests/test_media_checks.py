"""Media checks by the worker: dead links and non-images are caught before anyone claims them.

A real loopback server plays the image host (allowed for the worker by
``LABELYARD_WEBHOOKS_ALLOW_PRIVATE``, as in the test settings); the checks run in-process with
the worker's own code, against a server of their own so no other test's jobs are checked.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from labelyard.config import Settings
from labelyard.outbound import outbound_from_settings
from labelyard.secretbox import secret_box
from labelyard.services import deliveries
from labelyard.services.media import MediaSigner
from labelyard.store.engine import Database
from labelyard.worker import webhooks
from labelyard.worker.media import MediaChecker
from tests.conftest import (
    Server,
    database_url,
    free_port,
    make_project,
    make_worker,
    start_server,
)
from tests.receiver import receiver
from tests.web.test_owner_pages import signed_in

PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)


class Host:
    """Image host: ``/ok/...`` a PNG, ``/html/...`` a web page, anything in ``fixed`` a PNG,
    everything else 404. Counts the requests it gets."""

    def __init__(self) -> None:
        self.fixed: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.requests.append((self.path, self.headers.get("range", "")))
                if self.path.startswith("/ok/") or self.path in host.fixed:
                    body, kind, status = PNG, "image/png", 200
                elif self.path.startswith("/html/"):
                    body, kind, status = b"<!doctype html><p>sign in</p>" * 4, "text/html", 200
                else:
                    body, kind, status = b"not found", "text/plain", 404
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    served = Host()
    yield served
    served.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def checked_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server with a database of its own: the checks below see only this module's jobs."""
    from tests.conftest import PG_URL, pg_admin

    backend: str = request.param
    tmp: Path = tmp_path_factory.mktemp(f"media-{backend}")
    url = database_url("sqlite", tmp, request)
    name = ""
    if backend == "postgresql":
        request.getfixturevalue("pg_database")  # skips (or fails in CI) without PostgreSQL
        name = f"labelyard_media_{secrets.token_hex(4)}"
        pg_admin(PG_URL, f'CREATE DATABASE "{name}"')
        url = f"{PG_URL.rpartition('/')[0]}/{name}"
    settings = Settings(
        data_dir=tmp,
        database_url=url,
        admin_token=secrets.token_urlsafe(16),
        port=free_port(),
        webhooks_allow_private=True,  # the image host and receiver are on loopback
        media_check_retry_base_seconds=0.05,
    )
    uv, thread = start_server(settings)
    yield Server(backend=backend, base_url=f"http://127.0.0.1:{settings.port}", settings=settings)
    uv.should_exit = True
    thread.join(timeout=30)
    if name:
        pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_worker(server: Server, until: Callable[[], bool], timeout: float = 30) -> None:
    """Rounds of media checks and webhook deliveries until ``until()``."""
    settings = server.settings

    async def main() -> None:
        db = Database(settings.resolved_database_url(), pool_size=2)
        try:
            outbound = outbound_from_settings(settings)
            signer = MediaSigner(secret_box(settings), link_seconds=60)
            checker = MediaChecker(db, signer, outbound, settings)
            try:
                rng = random.Random(3)
                deadline = time.monotonic() + timeout
                while not until():
                    assert time.monotonic() < deadline, "worker: condition not met in time"
                    busy = await checker.run_due()
                    busy += await deliveries.fan_out(db)
                    busy += await webhooks.deliver_due(
                        db, outbound, secret_box(settings), settings, rng
                    )
                    if not busy:
                        await asyncio.sleep(0.02)
            finally:
                await outbound.aclose()
        finally:
            await db.dispose()

    asyncio.run(main())


def test_dead_and_non_image_media_fail_the_job_which_is_not_handed_out_until_fixed(
    checked_server: Server, host: Host
) -> None:
    server = checked_server
    project = make_project(server, name="media")
    pid = project.project_id
    api = project.api
    run = secrets.token_hex(4)  # the host outlives one backend's run: paths of this run only
    with receiver(lambda request, index: (200, 0)) as rx:
        assert api.put(f"/v1/projects/{pid}/callback", json={"callback_url": rx.url}).is_success
        good = api.post(
            f"/v1/projects/{pid}/jobs",
            json=project.job("good", data={"image_url": f"{host.base}/ok/{run}/a.png"}),
        ).json()["data"]["job_id"]
        bulk = api.post(
            f"/v1/projects/{pid}/jobs/bulk",
            json={
                "jobs": [
                    project.job("dead", data={"image_url": f"{host.base}/gone/{run}/b.png"}),
                    project.job("html", data={"image_url": f"{host.base}/html/{run}/c.png"}),
                ]
            },
        ).json()["data"]["results"]
        dead, html = (item["job_id"] for item in bulk)

        def media_error(job_id: str) -> str:
            answer = api.get(f"/v1/projects/{pid}/jobs/{job_id}")
            assert answer.status_code == 200, answer.text
            return str(answer.json()["data"].get("media_error", ""))

        run_worker(server, lambda: len(rx.requests) >= 2)
        assert media_error(good) == ""
        assert "HTTP 404" in media_error(dead) and "image_url" in media_error(dead)
        assert "not an image" in media_error(html)
        # Each URL was read once, with a ranged GET of its first bytes.
        mine = [rng for path, rng in host.requests if run in path]
        assert sorted(mine) == ["bytes=0-63"] * 3

        callbacks = {c.json["annotations"][0]["reference_id"]: c.json for c in rx.requests}
        for ref in ("dead", "html"):
            entry = callbacks[ref]["annotations"][0]
            assert entry["status"] == "FAILED"
            assert entry["error"]["meta_data"]["failures"] == [
                {"field": "image_url", "type": "INVALID_IMAGE_LINK"}
            ]
    owner = signed_in(server, project.api_key)
    page = owner.get(f"/ui/projects/{pid}/jobs/{dead}")
    assert 'id="media-error"' in page.text and "HTTP 404" in page.text
    assert 'id="media-error"' not in owner.get(f"/ui/projects/{pid}/jobs/{good}").text
    owner.close()
    feed = api.get(f"/v1/projects/{pid}/changes").json()["data"]["events"]
    failed = {e["data"]["reference_id"] for e in feed if e["type"] == "job.media_failed"}
    assert failed == {"dead", "html"}

    annotator = make_worker(server, project.account_id)
    claimed = annotator.api.post(f"/work/v1/projects/{pid}/claim", json={"step": "annotate"})
    assert claimed.status_code == 200 and claimed.json()["data"]["job_id"] == good
    nothing = annotator.api.post(f"/work/v1/projects/{pid}/claim", json={"step": "annotate"})
    assert nothing.status_code == 204  # the failed jobs are not handed out

    # The owner fixes the file and retries: the job is handed out once the check passes.
    host.fixed.add(f"/gone/{run}/b.png")
    retried = api.post(f"/v1/projects/{pid}/jobs/{dead}/media/retry")
    assert retried.status_code == 200 and retried.json()["data"]["media_check"] == "queued"
    assert "HTTP 404" in media_error(dead)  # until the check has run
    run_worker(server, lambda: media_error(dead) == "")
    claimed = annotator.api.post(f"/work/v1/projects/{pid}/claim", json={"step": "annotate"})
    assert claimed.status_code == 200 and claimed.json()["data"]["job_id"] == dead
    assert media_error(html)  # still failing: never retried
    annotator.api.close()
    api.close()


def test_retry_of_an_unknown_job_is_404_and_of_another_accounts_job_403(
    checked_server: Server,
) -> None:
    mine = make_project(checked_server, name="mine")
    theirs = make_project(checked_server, name="theirs")
    job = mine.api.post(f"/v1/projects/{mine.project_id}/jobs", json=mine.job("x")).json()["data"][
        "job_id"
    ]
    unknown = mine.api.post(
        f"/v1/projects/{mine.project_id}/jobs/{secrets.token_hex(4)}-0000-4000-8000-000000000000/media/retry"
    )
    assert unknown.status_code in (400, 404)
    foreign = theirs.api.post(f"/v1/projects/{mine.project_id}/jobs/{job}/media/retry")
    assert foreign.status_code == 403
    mine.api.close()
    theirs.api.close()


def test_private_bucket_media_is_read_through_the_accounts_connection(
    checked_server: Server,
) -> None:
    import boto3

    from tests.s3 import s3_server

    server = checked_server
    project = make_project(server, name="s3")
    pid = project.project_id
    with s3_server("acme-private") as s3:
        boto3.client(
            "s3",
            endpoint_url=s3.endpoint_url,
            region_name=s3.region,
            aws_access_key_id=s3.access_key_id,
            aws_secret_access_key=s3.secret_access_key,
        ).put_object(Bucket="acme-private", Key="a.png", Body=PNG)
        with server.admin() as admin:
            added = admin.post(
                f"/admin/v1/accounts/{project.account_id}/storage",
                json={
                    "scheme": "s3",
                    "endpoint_url": s3.endpoint_url,
                    "bucket_prefix": "acme-private",
                    "access_key_id": s3.access_key_id,
                    "secret_access_key": s3.secret_access_key,
                },
            )
            assert added.status_code == 200, added.text
        ids = [
            project.api.post(
                f"/v1/projects/{pid}/jobs", json=project.job(ref, data={"image_url": url})
            ).json()["data"]["job_id"]
            for ref, url in (
                ("there", "s3://acme-private/a.png"),
                ("missing", "s3://acme-private/nope.png"),
                ("unserved", "s3://elsewhere/a.png"),
            )
        ]

        def errors() -> list[str]:
            return [
                str(
                    project.api.get(f"/v1/projects/{pid}/jobs/{job_id}")
                    .json()["data"]
                    .get("media_error", "")
                )
                for job_id in ids
            ]

        def failed() -> list[str]:
            feed = project.api.get(f"/v1/projects/{pid}/changes").json()["data"]["events"]
            return [e["data"]["reference_id"] for e in feed if e["type"] == "job.media_failed"]

        run_worker(server, lambda: len(failed()) >= 2)
    there, missing, unserved = errors()
    assert there == ""
    assert "HTTP 404" in missing
    assert "no s3 storage connection" in unserved
    project.api.close()
