"""The figures the owner's project page and the annotator's queue page show come from counters
and bounded reads; after a random mix of every change they equal a plain recount (both engines).

The mix goes through the real HTTP API; the recount reads the database directly: COUNT(*) per
batch and status for the batch counters, and, for the queue page, every job of the project
judged in Python by the claim rules (lease, skips, own work, assignment).
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from secrets import token_hex
from typing import Any

import httpx
from sqlalchemy import func, select, update

from labelyard.core.model import as_utc
from labelyard.store.engine import Database
from labelyard.store.tables import batch, job, job_annotator, job_skip
from tests.conftest import ProjectHandle, Server, make_project

STATUSES = ("created", "in_progress", "completed", "aborted")
ANNOTATIONS: dict[str, Any] = {}


@dataclass
class Person:
    """A ``both`` worker with a web sign-in and an API client."""

    worker_id: str
    username: str
    password: str
    api: httpx.Client
    held: dict[str, str] = field(default_factory=dict)  # job id -> step kind


def _person(server: Server, account_id: str, name: str) -> Person:
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
    return Person(
        worker_id=made["worker_id"],
        username=username,
        password=password,
        api=server.client(authorization=f"Bearer {made['token']}"),
    )


def _signed_in(server: Server, person: Person) -> httpx.Client:
    browser = httpx.Client(base_url=server.base_url, timeout=60)
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/ui/login").text)
    assert csrf is not None
    form = {"csrf": csrf[1], "method": "password", "username": person.username}
    assert browser.post("/ui/login", data={**form, "secret": person.password}).status_code == 303
    return browser


def _shown_waiting(browser: httpx.Client, project_id: str) -> dict[str, str]:
    page = browser.get("/ui/queue").text
    rows = re.findall(
        rf'data-project="{project_id}" data-step="(\w+)">.*?<td class="waiting">(\d+\+?)</td>',
        page,
        flags=re.S,
    )
    return dict(rows)


def _owner_signed_in(server: Server, api_key: str) -> httpx.Client:
    owner = httpx.Client(base_url=server.base_url, timeout=60)
    csrf = re.search(r'name="csrf" value="([^"]+)"', owner.get("/ui/login").text)
    assert csrf is not None
    answer = owner.post("/ui/login", data={"csrf": csrf[1], "method": "key", "secret": api_key})
    assert answer.status_code == 303, answer.text
    return owner


def _legends(text: str) -> dict[str, dict[str, int]]:
    """Each batch's progress legend on the project page (a status missing there shows 0)."""
    found = {}
    for batch_id, row in re.findall(r'<tr data-batch="([^"]+)">(.*?)</tr>', text, re.S):
        counts = dict.fromkeys(STATUSES, 0)
        for status, count in re.findall(r'data-status="(\w+)" data-count="(\d+)"', row):
            counts[status] = int(count)
        found[batch_id] = counts
    return found


def _run(server: Server, work: Any) -> Any:
    async def go() -> Any:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def _recount(server: Server, project_id: str) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
    """COUNT(*) of the project's (non-gold) jobs by batch and status; the batches' counters."""

    async def work(db: Database) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
        async with db.read() as conn:
            counted: dict[str, dict[str, int]] = {}
            rows = await conn.execute(
                select(job.c.batch_id, job.c.status, func.count())
                .where(job.c.project_id == project_id, job.c.gold.is_(False))
                .group_by(job.c.batch_id, job.c.status)
            )
            for batch_id, status, number in rows:
                counted.setdefault(batch_id, dict.fromkeys(STATUSES, 0))[status] = int(number)
            kept = {
                row.id: row
                for row in await conn.execute(select(batch).where(batch.c.project_id == project_id))
            }
        return counted, kept

    result: tuple[dict[str, dict[str, int]], dict[str, Any]] = _run(server, work)
    return result


def _claimable(server: Server, project_id: str, worker_id: str) -> dict[str, int]:
    """Every job of the project judged by the claim rules in Python (self-review not allowed,
    no groups): how many this worker could claim in each step kind now."""

    async def work(db: Database) -> dict[str, int]:
        async with db.read() as conn:
            jobs = (await conn.execute(select(job).where(job.c.project_id == project_id))).all()
            skipped = {
                row.job_id
                for row in await conn.execute(
                    select(job_skip.c.job_id).where(
                        job_skip.c.project_id == project_id, job_skip.c.worker_id == worker_id
                    )
                )
            }
            annotated = {
                row.job_id
                for row in await conn.execute(
                    select(job_annotator.c.job_id).where(
                        job_annotator.c.project_id == project_id,
                        job_annotator.c.worker_id == worker_id,
                    )
                )
            }
        now = datetime.now(UTC)
        counts: Counter[str] = Counter()
        for row in jobs:
            if row.queue not in ("annotate", "review") or row.media_error is not None:
                continue
            if row.lease_expires_at is not None and as_utc(row.lease_expires_at) > now:
                continue
            if row.id in skipped or (row.queue == "review" and row.id in annotated):
                continue
            mine = row.assigned_worker == worker_id
            open_to_all = (row.assigned_worker is None or not row.assigned_only) and (
                row.assigned_group is None
            )
            if mine or open_to_all:
                counts[row.queue] += 1
        return dict(counts)

    result: dict[str, int] = _run(server, work)
    return result


def _expire(server: Server, project_id: str, job_id: str) -> None:
    """The job's lease runs out (as if its time had passed)."""

    async def work(db: Database) -> None:
        async with db.write() as conn:
            await conn.execute(
                update(job)
                .where(job.c.project_id == project_id, job.c.id == job_id)
                .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )

    _run(server, work)


def _shown(count: int) -> str:
    return f"{min(count, 100)}{'+' if count > 100 else ''}"


class Mix:
    """The random changes, through the API, and the checks after them."""

    def __init__(self, server: Server, project: ProjectHandle, people: list[Person]) -> None:
        self.server, self.project, self.people = server, project, people
        self.rng = random.Random(14)
        self.batches = [project.default_batch_id]
        self.jobs: list[str] = []
        self.serial = 0
        self.base = f"/v1/projects/{project.project_id}"
        self.work = f"/work/v1/projects/{project.project_id}"

    def _body(self) -> dict[str, Any]:
        self.serial += 1
        body = self.project.job(f"m{self.serial}")
        batch_id = self.rng.choice(self.batches)
        if batch_id != self.project.default_batch_id:
            body["batch_id"] = batch_id
        return body

    def create_one(self) -> None:
        answer = self.project.api.post(f"{self.base}/jobs", json=self._body())
        assert answer.status_code == 200, answer.text
        self.jobs.append(answer.json()["data"]["job_id"])

    def create_many(self, count: int) -> None:
        bodies = [self._body() for _ in range(count)]
        bodies.append(dict(bodies[0]))  # a replay: created once, counted once
        answer = self.project.api.post(f"{self.base}/jobs/bulk", json={"jobs": bodies})
        assert answer.status_code == 200, answer.text
        for item in answer.json()["data"]["results"]:
            if item.get("created"):
                self.jobs.append(item["job_id"])

    def claim(self) -> None:
        person = self.rng.choice(self.people)
        step = self.rng.choice(("annotate", "annotate", "review"))
        answer = person.api.post(f"{self.work}/claim", json={"step": step})
        assert answer.status_code in (200, 204), answer.text
        if answer.status_code == 200:
            person.held[answer.json()["data"]["job_id"]] = step

    def _held(self) -> tuple[Person, str, str] | None:
        holding = [(p, j, s) for p in self.people for j, s in p.held.items()]
        return self.rng.choice(holding) if holding else None

    def finish(self) -> None:
        """Submit, accept or reject a held job; or skip it; or let its lease run out."""
        held = self._held()
        if held is None:
            return
        person, job_id, step = held
        del person.held[job_id]
        path = f"{self.work}/jobs/{job_id}"
        choice = self.rng.random()
        if choice < 0.15:
            answer = person.api.post(f"{path}/skip", json={"reason": "unclear"})
        elif choice < 0.25:
            _expire(self.server, self.project.project_id, job_id)
            return
        elif step == "annotate":
            answer = person.api.post(f"{path}/submit", json={"annotations": ANNOTATIONS})
        else:
            decision = "accept" if choice < 0.7 else "reject"
            answer = person.api.post(f"{path}/review", json={"decision": decision})
        # An owner's abort in between ends the lease: a conflict, and nothing changed.
        assert answer.status_code in (200, 409), answer.text

    def owner_action(self) -> None:
        """Abort, reopen or assign a random job; now and then abort a whole batch or make one."""
        choice = self.rng.random()
        if choice < 0.05:
            answer = self.project.api.post(
                f"{self.base}/batch", json={"name": f"b{len(self.batches)}"}
            )
            assert answer.status_code == 200, answer.text
            self.batches.append(answer.json()["data"]["batch_id"])
            return
        if choice < 0.08 and len(self.batches) > 1:
            batch_id = self.rng.choice(self.batches[1:])
            answer = self.project.api.post(f"{self.base}/batch/{batch_id}/abort")
            assert answer.status_code == 200, answer.text
            return
        if not self.jobs:
            return
        job_id = self.rng.choice(self.jobs)
        if choice < 0.45:
            answer = self.project.api.post(f"{self.base}/jobs/{job_id}/abort")
        elif choice < 0.8:
            answer = self.project.api.post(f"{self.base}/jobs/{job_id}/reopen", json={})
        else:
            who = self.rng.choice(self.people)
            body = {"worker_id": who.worker_id, "only": self.rng.random() < 0.5}
            answer = self.project.api.post(f"{self.base}/jobs/{job_id}/assign", json=body)
        assert answer.status_code in (200, 409), answer.text

    def step(self) -> None:
        choice = self.rng.random()
        if choice < 0.08:
            self.create_one()
        elif choice < 0.12:
            self.create_many(self.rng.randint(1, 6))
        elif choice < 0.5:
            self.claim()
        elif choice < 0.85:
            self.finish()
        else:
            self.owner_action()

    def check(self, owner: httpx.Client, browsers: list[httpx.Client]) -> None:
        counted, kept = _recount(self.server, self.project.project_id)
        for batch_id, row in kept.items():
            plain = counted.get(batch_id, dict.fromkeys(STATUSES, 0))
            assert row.total_jobs == sum(plain.values())
            assert row.in_progress_jobs == plain["in_progress"]
            assert row.completed_jobs == plain["completed"]
            assert row.aborted_jobs == plain["aborted"]
        shown = _legends(owner.get(f"/ui/projects/{self.project.project_id}").text)
        assert set(shown) == set(kept)
        for batch_id, legend in shown.items():
            assert legend == counted.get(batch_id, dict.fromkeys(STATUSES, 0)), batch_id
        for person, browser in zip(self.people, browsers, strict=True):
            plain_queue = _claimable(self.server, self.project.project_id, person.worker_id)
            assert _shown_waiting(browser, self.project.project_id) == {
                kind: _shown(plain_queue.get(kind, 0)) for kind in ("annotate", "review")
            }


def test_counters_and_queue_figures_equal_a_recount_after_a_random_mix(server: Server) -> None:
    project = make_project(server, name="mix", self_review=False)
    people = [_person(server, project.account_id, f"p{i}") for i in range(3)]
    mix = Mix(server, project, people)
    owner = _owner_signed_in(server, project.api_key)
    browsers = [_signed_in(server, person) for person in people]
    try:
        mix.create_many(104)  # more than the queue page counts: it shows "100+"
        mix.check(owner, browsers)
        for round_ in range(8):
            for _ in range(40):
                mix.step()
            mix.check(owner, browsers)
            if round_ == 3:
                mix.create_many(40)
    finally:
        for client in [owner, *browsers, project.api, *(p.api for p in people)]:
            client.close()


def test_the_queue_page_shows_100_plus_only_past_100(server: Server) -> None:
    project = make_project(server, name="bound")
    person = _person(server, project.account_id, "solo")
    browser = _signed_in(server, person)
    try:
        bodies = [project.job(f"b{i}") for i in range(100)]
        answer = project.api.post(
            f"/v1/projects/{project.project_id}/jobs/bulk", json={"jobs": bodies}
        )
        assert answer.status_code == 200, answer.text
        assert _shown_waiting(browser, project.project_id)["annotate"] == "100"
        answer = project.api.post(f"/v1/projects/{project.project_id}/jobs", json=project.job("x"))
        assert answer.status_code == 200, answer.text
        assert _shown_waiting(browser, project.project_id)["annotate"] == "100+"
        claimed = person.api.post(
            f"/work/v1/projects/{project.project_id}/claim", json={"step": "annotate"}
        )
        assert claimed.status_code == 200, claimed.text
        assert _shown_waiting(browser, project.project_id) == {"annotate": "100", "review": "0"}
    finally:
        for client in (browser, project.api, person.api):
            client.close()
