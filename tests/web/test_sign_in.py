"""Sign-in over plain HTTP: password guesses are throttled per username."""

from __future__ import annotations

import re

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
