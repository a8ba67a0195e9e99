"""Reference images (API.md 3.7) in a strip beside the main view; a click enlarges one."""

from __future__ import annotations

from typing import Any

from tests.conftest import Server
from tests.web.conftest import (
    create_jobs,
    make_team,
    screenshot,
    sign_in,
    sign_in_owner,
    start,
)


def thumbs_loaded(page: Any, count: int) -> None:
    page.wait_for_function(
        """(count) => {
            const images = [...document.querySelectorAll('#references .reference-thumb')];
            return images.length === count && images.every((i) => i.complete && i.naturalWidth);
        }""",
        arg=count,
    )


def test_image_references_show_beside_the_image_and_enlarge(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server)
    data = {
        "image_url": f"{images}/640x480/main.png",
        "reference_data": {
            "raster": {
                "images": [
                    {"image_url": f"{images}/320x240/side.png", "label": "side"},
                    {"image_url": f"{images}/200x300/rear.png", "label": "rear"},
                ]
            }
        },
    }
    [job_id] = create_jobs(server, team, [{"reference_id": "refs", "data": data}])
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    thumbs_loaded(page, 2)
    labels = page.locator("#references .reference span").all_inner_texts()
    assert labels == ["side", "rear"]
    screenshot(page, "references")
    page.locator("#references .reference").nth(1).click()
    dialog = page.locator("#reference-dialog")
    assert dialog.evaluate("d => d.open")
    page.wait_for_function("document.querySelector('#reference-dialog img').naturalWidth === 200")
    assert dialog.locator("figcaption").inner_text() == "rear"
    dialog.click()
    assert not dialog.evaluate("d => d.open")

    owner = new_page()  # the owner's job viewer shows them too
    sign_in_owner(owner, server, team.api_key)
    owner.goto(f"{server.base_url}/ui/projects/{team.project_id}/jobs/{job_id}")
    thumbs_loaded(owner, 2)


def test_video_references_follow_the_frame(server: Server, new_page: Any, images: str) -> None:
    team = make_team(server, base="VIDEO")
    frames = [{"frame_id": f"f{i}", "src": f"{images}/320x240/f{i}.png"} for i in range(2)]
    refs = [
        {
            "frame_id": f"f{i}",
            "data": [{"label": f"rear {i}", "image_url": f"{images}/100x80/r{i}.png"}],
        }
        for i in range(2)
    ]
    data = {"video_data": {"frames": frames}, "reference_data": {"raster": {"images": refs}}}
    create_jobs(server, team, [{"reference_id": "video-refs", "data": data}])
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    thumbs_loaded(page, 1)
    assert page.locator("#references .reference span").all_inner_texts() == ["rear 0"]
    page.keyboard.press("d")
    page.wait_for_function(
        "() => document.querySelector('#references .reference span')?.textContent === 'rear 1'"
    )
    thumbs_loaded(page, 1)


def test_a_job_without_references_has_no_strip(server: Server, new_page: Any, images: str) -> None:
    team = make_team(server)
    create_jobs(
        server, team, [{"reference_id": "plain", "data": {"image_url": f"{images}/64x48/p.png"}}]
    )
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    assert page.locator("#references").is_hidden()
