"""Paging while jobs are being created: every job is seen exactly once, in creation order."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ProjectHandle

# A run is a list of steps: create n jobs (bulk), or fetch the next page of size k.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(min_value=1, max_value=7)),
        st.tuples(st.just("page"), st.integers(min_value=1, max_value=5)),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(run=steps)
def test_interleaved_creates_and_pages_see_each_job_once_in_order(
    new_project: Callable[..., ProjectHandle], run: list[tuple[str, int]]
) -> None:
    """A traversal ends on the page whose ``next_page_token`` is ``""``; at that moment it has
    seen every job created so far, each once, in creation order, including the jobs created
    while it was paging. Then a new traversal starts from the first page."""
    p = new_project()
    url = f"/v1/projects/{p.project_id}/batch/{p.default_batch_id}"
    created: list[str] = []
    seen: list[str] = []
    token = ""

    def fetch(limit: int) -> bool:
        """Fetch the next page; True when the traversal ended (and was checked)."""
        nonlocal token, seen
        params = {"limit": str(limit), **({"page_token": token} if token else {})}
        page = p.api.get(url, params=params).json()["data"]
        seen += [job["id"] for job in page["jobs"]]
        token = page["next_page_token"]
        if token:
            return False
        assert seen == created
        seen = []
        return True

    for action, n in run:
        if action == "create":
            jobs = [p.job(f"j{len(created) + i}") for i in range(n)]
            body = p.api.post(f"/v1/projects/{p.project_id}/jobs/bulk", json={"jobs": jobs})
            created += [r["job_id"] for r in body.json()["data"]["results"]]
        else:
            fetch(n)
    while not fetch(1000):
        pass
