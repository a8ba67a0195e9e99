"""The editor's power tools in Chromium: classifications answered in the side panel reach the
result."""

from __future__ import annotations

from typing import Any

from tests.conftest import Server
from tests.web.conftest import SCHEMA, create_jobs, make_team, screenshot, sign_in, start
from tests.web.test_annotate import accepted_result

QUESTIONS = [
    {
        "name": "weather",
        "attributes": [
            {"name": "sky", "type": "select", "options": ["sun", "rain"], "required": True},
            {"name": "night", "type": "boolean"},
        ],
    }
]


def test_an_image_classification_is_answered_and_kept(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server)
    with server.admin() as admin:
        answer = admin.put(
            f"/admin/v1/projects/{team.project_id}/schema",
            json={**SCHEMA, "classifications": QUESTIONS},
        )
        assert answer.status_code == 200, answer.text
    [job_id] = create_jobs(
        server, team, [{"reference_id": "cls", "data": {"image_url": f"{images}/640x480/c.png"}}]
    )
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    panel = page.locator("#classifications fieldset[data-classification=weather]")
    panel.locator("[data-attribute=night]").check()
    page.locator("#status", has_text="sky is required").wait_for()
    panel.locator("[data-attribute=sky]").select_option("rain")
    page.locator("#status", has_text="Draft saved").wait_for()
    screenshot(page, "classifications")
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")
    result = accepted_result(server, team, job_id)
    [answer] = result["data"]["annotations"]["classifications"]
    assert answer["label"] == "weather"
    assert answer["attributes"] == {"sky": {"value": "rain"}, "night": {"value": True}}
