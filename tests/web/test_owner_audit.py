"""The owner's audit log page: the project's entries, paged; another account's owner gets 403."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.conftest import ProjectHandle, Server
from tests.web.test_owner_pages import SignIn, page, sign_in_as  # noqa: F401 (fixture)

NewProject = Callable[..., ProjectHandle]


def test_owner_reads_the_audit_log_page_by_page(
    new_project: NewProject,
    sign_in_as: SignIn,  # noqa: F811
) -> None:
    project = new_project(name="audited page")
    pid = project.project_id
    for i in range(105):  # more than one page (100 a page)
        assert project.api.post(f"/v1/projects/{pid}/batch", json={"name": f"b{i}"}).is_success
    hook = project.api.post(
        f"/v1/projects/{pid}/webhooks", json={"url": "https://hooks.example/in"}
    ).json()["data"]
    owner = sign_in_as(project.api_key)
    text = page(owner, f"/ui/projects/{pid}")
    assert f'href="/ui/projects/{pid}/audit"' in text
    first = page(owner, f"/ui/projects/{pid}/audit")
    actions = re.findall(r'data-action="([\w.]+)"', first)
    assert actions[0] == "webhook.create"
    assert len(actions) == 100
    assert hook["secret"] not in first
    assert project.api_key not in first
    following = re.search(r'href="\?(page_token=[\w-]+)" class="next"', first)
    assert following
    second = page(owner, f"/ui/projects/{pid}/audit?{following[1]}")
    rest = re.findall(r'data-action="([\w.]+)"', second)
    # 105 batches and the webhook, after what the admin did to make the project.
    every = actions + rest
    assert every.count("batch.create") == 105 and every.count("webhook.create") == 1
    assert rest[-1] == "account.create"


def test_another_owner_gets_403_and_the_admin_sees_it(
    server: Server,
    new_project: NewProject,
    sign_in_as: SignIn,  # noqa: F811
) -> None:
    mine, theirs = new_project(name="mine"), new_project(name="theirs")
    page(sign_in_as(theirs.api_key), f"/ui/projects/{mine.project_id}/audit", status=403)
    text = page(sign_in_as(server.settings.admin_token), f"/ui/projects/{mine.project_id}/audit")
    assert 'data-action="project.create"' in text
