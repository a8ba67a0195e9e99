"""Sign-in over plain HTTP: password guesses are throttled per username."""

from __future__ import annotations

import re
from contextlib import closing

import httpx

from tests.conftest import Server
from tests.web.conftest import make_team


def test_password_guesses_are_throttled_per_username(server: Server) -> None:
    team = make_team(server)
    with httpx.Client(base_url=server.base_url) as browser:
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/ui/login").text)
        assert csrf is not None
        form = {"csrf": csrf[1], "method": "password", "username": team.annotator["username"]}
        answers = [
            browser.post("/ui/login", data={**form, "secret": f"guess {i}"}).status_code
            for i in range(10)
        ]
        assert answers == [401] * 10
        throttled = browser.post("/ui/login", data={**form, "secret": team.annotator["password"]})
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
        # Another worker's name is not held back by these guesses.
        other = {**form, "username": team.reviewer["username"], "secret": team.reviewer["password"]}
        assert browser.post("/ui/login", data=other).status_code == 303


def signed_in(server: Server, username: str, password: str) -> httpx.Client:
    """A cookie jar signed in as a worker with a username and password."""
    browser = httpx.Client(base_url=server.base_url)
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/ui/login").text)
    assert csrf is not None
    form = {"csrf": csrf[1], "method": "password", "username": username, "secret": password}
    assert browser.post("/ui/login", data=form).status_code == 303
    assert browser.get("/ui/queue").status_code == 200
    return browser


def test_a_new_password_or_a_revocation_ends_the_web_sessions(server: Server) -> None:
    team = make_team(server)
    person = team.annotator
    with (
        closing(signed_in(server, person["username"], person["password"])) as browser,
        server.admin() as admin,
    ):
        changed = admin.put(
            f"/admin/v1/workers/{person['worker_id']}/login",
            json={"username": f"  {person['username']} ", "password": "a new password"},
        )
        assert changed.status_code == 200
        assert browser.get("/ui/queue").headers.get("location") == "/ui/login"

    # Surrounding spaces of a username are not part of it; a password is taken as typed.
    with (
        closing(signed_in(server, person["username"], "a new password")) as browser,
        server.admin() as admin,
    ):
        assert admin.post(f"/admin/v1/workers/{person['worker_id']}/revoke").status_code == 200
        assert browser.get("/ui/queue").headers.get("location") == "/ui/login"
        worker_api = httpx.Client(
            base_url=server.base_url, headers={"authorization": f"Bearer {person['token']}"}
        )
        with worker_api:
            assert worker_api.post(f"/work/v1/projects/{team.project_id}/claim").status_code == 401
        # The revoked worker's username stays taken: a clear 409, not a fault.
        taken = admin.put(
            f"/admin/v1/workers/{team.reviewer['worker_id']}/login",
            json={"username": person["username"], "password": "long enough"},
        )
        assert taken.status_code == 409 and taken.json()["error"]["code"] == "conflict"
        again = admin.post(f"/admin/v1/workers/{person['worker_id']}/revoke")
        assert again.status_code == 404


def test_a_forwarded_address_does_not_reset_the_throttle(server: Server) -> None:
    """No proxy is trusted by default: X-Forwarded-For is ignored, and the per-name limit
    holds whatever the address."""
    team = make_team(server)
    with httpx.Client(base_url=server.base_url) as browser:
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/ui/login").text)
        assert csrf is not None
        form = {"csrf": csrf[1], "method": "password", "username": team.annotator["username"]}
        answers = [
            browser.post(
                "/ui/login",
                data={**form, "secret": f"guess {i}"},
                headers={"x-forwarded-for": f"203.0.113.{i}"},
            ).status_code
            for i in range(10)
        ]
        assert answers == [401] * 10
        rotated = browser.post(
            "/ui/login",
            data={**form, "secret": team.annotator["password"]},
            headers={"x-forwarded-for": "198.51.100.7"},
        )
        assert rotated.status_code == 429 and int(rotated.headers["retry-after"]) >= 1


def test_only_listed_proxies_are_believed() -> None:
    from labelyard.app import proxy_options
    from labelyard.config import Settings

    assert proxy_options(Settings()) == {"proxy_headers": False, "forwarded_allow_ips": ""}
    behind = Settings(trusted_proxies="10.0.0.5, 10.1.0.0/16")
    assert proxy_options(behind) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.5", "10.1.0.0/16"],
    }


def _sign_in_with_key(browser: httpx.Client, api_key: str) -> None:
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/ui/login").text)
    assert csrf is not None
    form = {"csrf": csrf[1], "method": "key", "secret": api_key}
    assert browser.post("/ui/login", data=form).status_code == 303
    assert browser.get("/ui/projects").status_code == 200


def _sign_out(browser: httpx.Client) -> None:
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/ui/queue").text)
    if csrf is None:
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/ui/projects").text)
    assert csrf is not None
    answer = browser.post("/ui/logout", data={"csrf": csrf[1]})
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/login"


def test_signing_out_ends_the_session_on_the_server(server: Server) -> None:
    team = make_team(server)
    person = team.annotator
    with closing(signed_in(server, person["username"], person["password"])) as browser:
        cookie = browser.cookies.get("labelyard_session", path="/ui")
        assert cookie
        with httpx.Client(base_url=server.base_url) as copy:
            copy.cookies.set("labelyard_session", cookie, path="/ui")
            assert copy.get("/ui/queue").status_code == 200
            _sign_out(browser)
            assert browser.get("/ui/queue").headers.get("location") == "/ui/login"
            # The copied cookie stopped working too.
            assert copy.get("/ui/queue").headers.get("location") == "/ui/login"
        # Signing in again works.
    with closing(signed_in(server, person["username"], person["password"])):
        pass


def test_signing_out_ends_an_owners_session_on_the_server(server: Server) -> None:
    team = make_team(server)
    with httpx.Client(base_url=server.base_url) as browser:
        _sign_in_with_key(browser, team.api_key)
        cookie = browser.cookies.get("labelyard_session", path="/ui")
        assert cookie
        with httpx.Client(base_url=server.base_url) as copy:
            copy.cookies.set("labelyard_session", cookie, path="/ui")
            _sign_out(browser)
            assert copy.get("/ui/projects").headers.get("location") == "/ui/login"


def test_the_editors_json_calls_refuse_deep_nesting_and_the_job_stays_held(
    server: Server,
) -> None:
    team = make_team(server)
    person = team.annotator
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        job = {"reference_id": "deep-ui", "work_flow_id": team.work_flow_id, "data": {}}
        job["data"] = {"image_url": "https://img.example/deep.jpg"}
        created = api.post(f"/v1/projects/{team.project_id}/jobs", json=job)
        assert created.status_code == 200, created.text
        job_id = created.json()["data"]["job_id"]
    with closing(signed_in(server, person["username"], person["password"])) as browser:
        page = browser.get("/ui/queue").text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert token is not None
        headers = {"x-csrf-token": token[1], "content-type": "application/json"}
        base = f"/ui/api/work/{team.project_id}"
        claimed = browser.post(f"{base}/claim", headers=headers, content=b'{"step": "annotate"}')
        assert claimed.status_code == 200 and claimed.json()["data"]["job_id"] == job_id
        deep = '{"annotations": {"rectangles": ' + "[" * 248 + "]" * 248 + "}}"
        refused = browser.post(f"{base}/jobs/{job_id}/draft", headers=headers, content=deep)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "GE_0001"
        assert "nested deeper than 64" in refused.json()["error"]["message"]
        # Still this worker's job: a draft that is fine is saved.
        saved = browser.post(
            f"{base}/jobs/{job_id}/draft", headers=headers, content=b'{"annotations": {}}'
        )
        assert saved.status_code == 200, saved.text


def test_revoking_the_key_ends_an_owners_session_and_a_new_key_signs_in(server: Server) -> None:
    team = make_team(server)
    with server.admin() as admin:
        made = admin.post(f"/admin/v1/accounts/{team.account_id}/keys").json()["data"]
    with httpx.Client(base_url=server.base_url) as browser:
        _sign_in_with_key(browser, made["api_key"])
        with server.admin() as admin:
            assert admin.post(f"/admin/v1/keys/{made['key_id']}/revoke").status_code == 200
        assert browser.get("/ui/projects").headers.get("location") == "/ui/login"
    # The account's other key was not touched: its sessions go on.
    with httpx.Client(base_url=server.base_url) as other:
        _sign_in_with_key(other, team.api_key)
