"""Private-bucket media: an account's storage connection turns its jobs' ``s3://`` URLs into
presigned links for the web UI (annotator and owner), with moto's S3 server as the store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from tests.conftest import Server
from tests.s3 import S3Endpoint, s3_server
from tests.web.conftest import create_jobs, make_team, png, sign_in, sign_in_owner, start

BUCKET = "acme-media"
SECRET = "sEcReT-7f3a9c-never-shown"
WIDTH, HEIGHT = 320, 200


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Endpoint]:
    with s3_server(BUCKET) as endpoint:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint.endpoint_url,
            region_name=endpoint.region,
            aws_access_key_id=endpoint.access_key_id,
            aws_secret_access_key=endpoint.secret_access_key,
        )
        client.put_object(
            Bucket=BUCKET,
            Key="images/street.png",
            Body=png(WIDTH, HEIGHT, "street"),
            ContentType="image/png",
        )
        yield endpoint


def add_connection(server: Server, account_id: str, s3: S3Endpoint) -> dict[str, Any]:
    with server.admin() as admin:
        answer = admin.post(
            f"/admin/v1/accounts/{account_id}/storage",
            json={
                "scheme": "s3",
                "endpoint_url": s3.endpoint_url,
                "region": s3.region,
                "bucket_prefix": BUCKET,
                "access_key_id": "AKIDACME",
                "secret_access_key": SECRET,
            },
        )
    assert answer.status_code == 200, answer.text
    assert SECRET not in answer.text
    created: dict[str, Any] = answer.json()["data"]
    return created


def natural_width(page: Any, selector: str) -> int:
    page.wait_for_function(
        f"document.querySelector({selector!r})?.complete && "
        f"document.querySelector({selector!r}).naturalWidth > 0"
    )
    width: int = page.evaluate(f"document.querySelector({selector!r}).naturalWidth")
    return width


def test_s3_image_is_on_screen_for_the_annotator_and_the_owner_and_the_secret_nowhere(
    server: Server, s3: S3Endpoint, new_page: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    team = make_team(server)
    add_connection(server, team.account_id, s3)
    url = f"s3://{BUCKET}/images/street.png"
    [job_id] = create_jobs(server, team, [{"reference_id": "s3-1", "data": {"image_url": url}}])

    page = new_page()
    responses: list[str] = []
    page.on("response", lambda r: responses.append(r.text() if "/ui/" in r.url else ""))
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    assert natural_width(page, ".view img.frame-image") == WIDTH
    src = page.evaluate("document.querySelector('.view img.frame-image').src")
    assert src.startswith(s3.endpoint_url) and "X-Amz-Signature=" in src

    owner = new_page()
    owner.on("response", lambda r: responses.append(r.text() if "/ui/" in r.url else ""))
    sign_in_owner(owner, server, team.api_key)
    owner.goto(f"{server.base_url}/ui/projects/{team.project_id}/jobs/{job_id}")
    assert natural_width(owner, ".view img.frame-image") == WIDTH

    # The stored job is unchanged: the API and the worker API still name the s3:// URL.
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        listed = api.get(f"/v1/projects/{team.project_id}/batch/{team.batch_id}")
        assert listed.status_code == 200
    with server.admin() as admin:
        shown = admin.get(f"/admin/v1/accounts/{team.account_id}/storage")
    assert shown.status_code == 200 and shown.json()["data"]["connections"][0]["bucket_prefix"]
    for text in [*responses, shown.text, listed.text, caplog.text]:
        assert SECRET not in text


def test_another_accounts_connection_is_never_used(
    server: Server, s3: S3Endpoint, new_page: Any
) -> None:
    owner_team = make_team(server)
    add_connection(server, owner_team.account_id, s3)
    stranger = make_team(server)  # no connection of its own
    url = f"s3://{BUCKET}/images/street.png"
    create_jobs(server, stranger, [{"reference_id": "s3-x", "data": {"image_url": url}}])

    page = new_page()
    sign_in(page, server, stranger.annotator)
    # The page itself is read without rendering: the browser cannot load an unsigned s3:// URL.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    opened = page.request.post(
        f"{server.base_url}/ui/queue/start",
        form={"csrf": csrf, "project_id": stranger.project_id, "step": "annotate"},
    )
    assert opened.ok and "/ui/work/" in opened.url
    html = opened.text()
    raw = html.split('id="job">', 1)[1].split("</script>", 1)[0]
    job = json.loads(raw)
    assert job["data"]["image_url"] == url  # not signed with the other account's credentials
    assert "X-Amz" not in html and "AKIDACME" not in html


def test_storage_connections_are_listed_without_secrets_and_removed(
    server: Server, s3: S3Endpoint
) -> None:
    team = make_team(server)
    created = add_connection(server, team.account_id, s3)
    assert set(created) == {
        "connection_id",
        "account_id",
        "scheme",
        "endpoint_url",
        "region",
        "bucket_prefix",
        "access_key_id",
        "created_at",
    }
    other = make_team(server)
    base = f"/admin/v1/accounts/{team.account_id}/storage"
    with server.admin() as admin:
        again = admin.post(
            base,
            json={
                "scheme": "s3",
                "bucket_prefix": BUCKET,
                "access_key_id": "x",
                "secret_access_key": "y",
            },
        )
        assert again.status_code == 400  # one connection per scheme and prefix
        bad = admin.post(
            base,
            json={
                "scheme": "ftp",
                "bucket_prefix": "b",
                "access_key_id": "x",
                "secret_access_key": "y",
            },
        )
        assert bad.status_code == 400
        listed = admin.get(base).json()["data"]["connections"]
        assert [c["connection_id"] for c in listed] == [created["connection_id"]]
        assert admin.get(f"/admin/v1/accounts/{other.account_id}/storage").json()["data"] == {
            "connections": []
        }
        foreign = admin.delete(
            f"/admin/v1/accounts/{other.account_id}/storage/{created['connection_id']}"
        )
        assert foreign.status_code == 404
        gone = admin.delete(f"{base}/{created['connection_id']}")
        assert gone.status_code == 200
        assert admin.get(base).json()["data"]["connections"] == []
