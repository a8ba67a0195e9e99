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
