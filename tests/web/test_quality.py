"""The quality UI in Chromium: an owner sets reject reasons and sees the workers' figures; a
reviewer rejects with reasons the annotator then sees; a consensus job shows its versions."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import Server
from tests.web.conftest import (
    create_jobs,
    make_team,
    screenshot,
    sign_in,
    sign_in_owner,
    start,
)

WIDTH, HEIGHT = 640, 480


def test_reject_reasons_set_by_the_owner_reach_the_annotator(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server)
    owner = new_page()
    sign_in_owner(owner, server, team.api_key)
    owner.goto(f"{server.base_url}/ui/projects/{team.project_id}")
    owner.locator("#quality-link").click()
    owner.wait_for_url("**/quality")
    form = owner.locator("#quality-settings")
    form.locator("textarea[name=reject_reasons]").fill("Missed object\nLoose box\nWrong class")
    form.locator("select[name=rejected_to]").select_option("same")
    form.locator("button[type=submit]").click()
    owner.locator("#done").wait_for()
    # A bad value is shown on the page and changes nothing.
    owner.locator("#quality-settings input[name=gold_rate]").fill("7")
    owner.locator("#quality-settings button[type=submit]").click()
    assert "gold_rate" in owner.locator("#error").inner_text()
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        rules = api.get(f"/v1/projects/{team.project_id}/quality").json()["data"]
    assert rules["reject_reasons"] == ["Missed object", "Loose box", "Wrong class"]
    assert rules["rejected_to"] == "same" and rules["gold_rate"] == 0

    [job_id] = create_jobs(
        server,
        team,
        [{"reference_id": "q-1", "data": {"image_url": f"{images}/{WIDTH}x{HEIGHT}/q.png"}}],
    )
    annotator = new_page()
    sign_in(annotator, server, team.annotator)
    start(annotator, team.project_id, "annotate")
    assert annotator.locator("#reject-reasons").is_hidden()
    annotator.keyboard.press("Control+Enter")
    annotator.wait_for_url("**/ui/queue?empty=annotate")

    reviewer = new_page()
    sign_in(reviewer, server, team.reviewer)
    start(reviewer, team.project_id, "review")
    reasons = reviewer.locator("#reject-reasons")
    assert reasons.is_visible()
    assert reasons.locator("input[name=reason]").count() == 3
    reasons.get_by_label("Missed object").check()
    reasons.get_by_label("Wrong class").check()
    reviewer.locator("#reject-comment").fill("The car on the left has no box.")
    screenshot(reviewer, "reject-reasons")
    reviewer.locator("#reject").click()
    reviewer.wait_for_url("**/ui/queue?empty=review")

    annotator.goto(f"{server.base_url}/ui/queue")
    start(annotator, team.project_id, "annotate")
    shown = annotator.locator("#reasons-shown")
    assert shown.is_visible()
    assert shown.locator("li").all_inner_texts() == ["Missed object", "Wrong class"]
    assert "The car on the left has no box." in annotator.locator("#comment").inner_text()

    owner.goto(f"{server.base_url}/ui/projects/{team.project_id}/quality")
    row = owner.locator(f"#workers tr[data-worker='{team.annotator['worker_id']}']")
    assert row.locator("td").nth(3).inner_text() == "1"  # rejected once
    # The job's history says why, and who got it back.
    owner.goto(f"{server.base_url}/ui/projects/{team.project_id}/jobs/{job_id}")
    decided = owner.locator("tr[data-action=reject] td.detail").inner_text()
    assert "reasons: Missed object, Wrong class" in decided
    assert f"back_to: {team.annotator['worker_id']}" in decided


def test_owner_makes_a_group_and_limits_review_to_it(server: Server, new_page: Any) -> None:
    team = make_team(server)
    owner = new_page()
    sign_in_owner(owner, server, team.api_key)
    owner.goto(f"{server.base_url}/ui/projects/{team.project_id}/quality")
    owner.locator("#add-group input[name=name]").fill("seniors")
    owner.locator("#add-group button[type=submit]").click()
    owner.locator("#done").wait_for()
    group = owner.locator("form[data-group=seniors]")
    group.locator(f"input[name='w:{team.reviewer['worker_id']}']").check()
    group.locator("button[type=submit]").click()
    owner.locator("#done").wait_for()
    owner.locator("#quality-settings select[name=pool_review]").select_option(label="seniors")
    owner.locator("#quality-settings button[type=submit]").click()
    owner.locator("#done").wait_for()
    screenshot(owner, "owner-quality")
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        groups = api.get(f"/v1/projects/{team.project_id}/groups").json()["data"]["groups"]
        rules = api.get(f"/v1/projects/{team.project_id}/quality").json()["data"]
    assert groups[0]["worker_ids"] == [team.reviewer["worker_id"]]
    assert rules["pools"] == {"review": groups[0]["group_id"]}
    owner.locator("#assign select[name=batch_id]").select_option(index=1)
    owner.locator("#assign select[name=to]").select_option(label="group seniors")
    owner.locator("#assign button[type=submit]").click()
    assert "0 unfinished jobs" in owner.locator("#done").inner_text()


def _box(x0: float, y0: float, x1: float, y1: float, color: str) -> dict[str, Any]:
    return {
        "_id": f"b{x0}{color}",
        "label": "car",
        "attributes": {"color": {"value": color}},
        "coordinates": [
            {"x": x0, "y": y0},
            {"x": x1, "y": y0},
            {"x": x1, "y": y1},
            {"x": x0, "y": y1},
        ],
    }


def test_a_reviewer_sees_three_versions_and_accepts_one(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server)
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        rules = {"overlap": 3, "agreement_threshold": 0.9}
        assert api.patch(f"/v1/projects/{team.project_id}/quality", json=rules).status_code == 200
    [job_id] = create_jobs(
        server,
        team,
        [{"reference_id": "c-1", "data": {"image_url": f"{images}/{WIDTH}x{HEIGHT}/c.png"}}],
    )
    versions = [
        {"rectangles": [_box(0.1, 0.1, 0.4, 0.4, "red")]},
        {"rectangles": [_box(0.1, 0.1, 0.4, 0.4, "blue"), _box(0.6, 0.6, 0.9, 0.9, "red")]},
        {"rectangles": []},
    ]
    with server.admin() as admin:
        tokens = [
            admin.post(
                f"/admin/v1/accounts/{team.account_id}/workers",
                json={"name": f"a{i}", "role": "annotator"},
            ).json()["data"]["token"]
            for i in range(3)
        ]
    base = f"/work/v1/projects/{team.project_id}"
    for token, version in zip(tokens, versions, strict=True):
        with httpx.Client(
            base_url=server.base_url, headers={"authorization": f"Bearer {token}"}
        ) as worker:
            assert worker.post(f"{base}/claim", json={"step": "annotate"}).status_code == 200
            answer = worker.post(f"{base}/jobs/{job_id}/submit", json={"annotations": version})
            assert answer.status_code == 200, answer.text

    reviewer = new_page()
    sign_in(reviewer, server, team.reviewer)
    start(reviewer, team.project_id, "review")
    panel = reviewer.locator("#versions")
    assert panel.is_visible()
    buttons = panel.locator("button")
    assert buttons.all_inner_texts() == [
        "Merged (1 objects)",
        "Version 1 (1 objects)",
        "Version 2 (2 objects)",
        "Version 3 (0 objects)",
    ]
    # Side by side: objects of each class in each version; the car row differs.
    table = panel.locator("table.compare")
    assert table.locator("tr").first.locator("th").all_inner_texts() == [
        "",
        "Merged",
        "V1",
        "V2",
        "V3",
    ]
    car = table.locator("tr[data-label=car]")
    assert car.locator("td").all_inner_texts() == ["1", "1", "2", "0"]
    assert "differs" in (car.get_attribute("class") or "")
    buttons.nth(2).click()
    assert reviewer.locator(".overlay [data-shape=rectangle]").count() == 2
    screenshot(reviewer, "consensus-versions")
    reviewer.locator("#accept").click()
    reviewer.wait_for_url("**/ui/queue?empty=review")
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        result = api.get(f"/v1/projects/{team.project_id}/jobs/{job_id}/result").json()
    rectangles = result["data"]["annotations"]["rectangles"]
    assert sorted(r["attributes"]["color"]["value"] for r in rectangles) == ["blue", "red"]


def _both_worker(server: Server, account_id: str, name: str) -> dict[str, str]:
    from secrets import token_hex

    with server.admin() as admin:
        made = admin.post(
            f"/admin/v1/accounts/{account_id}/workers", json={"name": name, "role": "both"}
        ).json()["data"]
        username, password = f"{name}-{token_hex(4)}", token_hex(8)
        answer = admin.put(
            f"/admin/v1/workers/{made['worker_id']}/login",
            json={"username": username, "password": password},
        )
        assert answer.status_code == 200, answer.text
    return {**made, "username": username, "password": password}


def _waiting(server: Server, person: dict[str, str], project_id: str) -> dict[str, str]:
    with httpx.Client(base_url=server.base_url, timeout=60) as browser:
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/ui/login").text)
        assert csrf is not None
        form = {"csrf": csrf[1], "method": "password", "username": person["username"]}
        assert (
            browser.post("/ui/login", data={**form, "secret": person["password"]}).status_code
            == 303
        )
        page = browser.get("/ui/queue").text
    rows = re.findall(
        rf'data-project="{project_id}" data-step="(\w+)">.*?<td class="waiting">(\d+)</td>',
        page,
        flags=re.S,
    )
    return dict(rows)


def test_the_queue_page_counts_only_jobs_the_rules_let_a_worker_claim(server: Server) -> None:
    team = make_team(server)
    ana = _both_worker(server, team.account_id, "ana")
    bo = _both_worker(server, team.account_id, "bo")
    ids = create_jobs(
        server,
        team,
        [
            {"reference_id": f"w{i}", "data": {"image_url": f"https://i.example/{i}.png"}}
            for i in range(3)
        ],
    )
    base = f"/work/v1/projects/{team.project_id}"
    with httpx.Client(
        base_url=server.base_url, headers={"authorization": f"Bearer {ana['token']}"}
    ) as worker:
        job = worker.post(f"{base}/claim", json={"step": "annotate"}).json()["data"]
        assert (
            worker.post(f"{base}/jobs/{job['job_id']}/submit", json={"annotations": {}}).status_code
            == 200
        )
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        only_bo = {"worker_id": bo["worker_id"]}
        assert (
            api.post(
                f"/v1/projects/{team.project_id}/jobs/{ids[2]}/assign", json=only_bo
            ).status_code
            == 200
        )
    # ana annotated the job in review, and the third job is bo's alone.
    assert _waiting(server, ana, team.project_id) == {"annotate": "1", "review": "0"}
    assert _waiting(server, bo, team.project_id) == {"annotate": "2", "review": "1"}


def _polygon(points: list[tuple[float, float]], label: str) -> dict[str, Any]:
    return {
        "_id": f"p{label}{points[0][0]}",
        "label": label,
        "attributes": {"color": {"value": "blue"}},
        "points": {f"p{i + 1}": {"x": x, "y": y} for i, (x, y) in enumerate(points)},
    }


def test_the_reviewer_sees_the_versions_drawn_side_by_side_and_picks_or_corrects_one(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server)
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        rules = {"overlap": 3, "agreement_threshold": 0.95}
        assert api.patch(f"/v1/projects/{team.project_id}/quality", json=rules).status_code == 200
    [job_id] = create_jobs(
        server,
        team,
        [{"reference_id": "side-1", "data": {"image_url": f"{images}/{WIDTH}x{HEIGHT}/s.png"}}],
    )
    roof = [(0.5, 0.2), (0.9, 0.2), (0.9, 0.5), (0.7, 0.5), (0.7, 0.7), (0.5, 0.7)]
    person = {**_box(0.05, 0.5, 0.2, 0.95, "red"), "_id": "walker", "label": "person"}
    person["attributes"] = {}
    versions = [
        {"rectangles": [_box(0.1, 0.1, 0.4, 0.4, "red")], "polygons": [_polygon(roof, "car")]},
        {"rectangles": [_box(0.1, 0.1, 0.4, 0.4, "blue"), _box(0.6, 0.6, 0.9, 0.9, "red")]},
        {"rectangles": [_box(0.12, 0.1, 0.42, 0.4, "red"), person]},
    ]
    with server.admin() as admin:
        tokens = [
            admin.post(
                f"/admin/v1/accounts/{team.account_id}/workers",
                json={"name": f"s{i}", "role": "annotator"},
            ).json()["data"]["token"]
            for i in range(3)
        ]
    base = f"/work/v1/projects/{team.project_id}"
    for token, version in zip(tokens, versions, strict=True):
        with httpx.Client(
            base_url=server.base_url, headers={"authorization": f"Bearer {token}"}
        ) as worker:
            assert worker.post(f"{base}/claim", json={"step": "annotate"}).status_code == 200
            answer = worker.post(f"{base}/jobs/{job_id}/submit", json={"annotations": version})
            assert answer.status_code == 200, answer.text

    reviewer = new_page()
    sign_in(reviewer, server, team.reviewer)
    start(reviewer, team.project_id, "review")
    strip = reviewer.locator("#version-strip")
    assert strip.is_visible()
    cards = strip.locator(".version-card")
    assert cards.count() == 4  # the merge, then the three versions
    assert cards.locator("figcaption strong").all_inner_texts() == [
        "Merged",
        "Version 1",
        "Version 2",
        "Version 3",
    ]
    # Each card draws its version's shapes over the job's image.
    for index, shapes in ((1, 2), (2, 2), (3, 2)):
        card = cards.nth(index)
        assert card.locator("svg image").get_attribute("href") == (
            f"{images}/{WIDTH}x{HEIGHT}/s.png"
        )
        assert card.locator("svg [data-shape]").count() == shapes
    assert cards.nth(1).locator("svg polygon[data-label=car]").count() == 1
    # Where a shape is drawn: the box of Version 2's second car, in the card's picture.
    reviewer.wait_for_function(
        "document.querySelector('#version-strip svg').style.aspectRatio.startsWith('1.33')"
    )
    picture = cards.nth(2).locator("svg").bounding_box()
    second = cards.nth(2).locator("svg rect").nth(1).bounding_box()
    assert picture is not None and second is not None
    assert abs((second["x"] - picture["x"]) / picture["width"] - 0.6) < 0.02
    assert abs((second["y"] - picture["y"]) / picture["height"] - 0.6) < 0.02
    assert abs(picture["width"] / picture["height"] - WIDTH / HEIGHT) < 0.02
    # Colour by class: every car has one stroke, the person another.
    stroke = "(n) => n.map((e) => e.getAttribute('stroke'))"
    people = set(strip.locator("[data-label=person]").evaluate_all(stroke))
    strokes = set(
        strip.locator("[data-label=car]").evaluate_all(
            "(n) => n.map((e) => e.getAttribute('stroke'))"
        )
    )
    assert len(strokes) == 1 and len(people) == 1 and strokes != people
    screenshot(reviewer, "consensus-side-by-side")

    # "Correct" opens that version in the editor.
    cards.nth(2).get_by_role("button", name="Correct").click()
    assert "chosen" in (cards.nth(2).get_attribute("class") or "")
    assert reviewer.locator(".overlay [data-shape=rectangle]").count() == 2
    # "Pick" accepts a version as it is: Version 1, its rectangle and its polygon.
    cards.nth(1).get_by_role("button", name="Pick").click()
    reviewer.wait_for_url("**/ui/queue?empty=review")
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        result = api.get(f"/v1/projects/{team.project_id}/jobs/{job_id}/result").json()
    annotations = result["data"]["annotations"]
    assert [r["attributes"]["color"]["value"] for r in annotations["rectangles"]] == ["red"]
    assert len(annotations["polygons"]) == 1
