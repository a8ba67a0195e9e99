"""``services.export_runs``: jobs read straight from the driver, in pages, are exported exactly
as they were when read through SQLAlchemy's row objects and JSON processing."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import null, select, update

from labelyard.core.annotations import empty_image, result_document
from labelyard.core.model import Base
from labelyard.services import export_runs, utcnow
from labelyard.store.engine import Database
from labelyard.store.tables import batch, job
from tests.conftest import ProjectHandle, Server
from tests.exports.seed import seed_completed

ODD_DATA = [
    {"image_url": "https://img.example/é 1.jpg", "note": 'naïve "quoted" \\ 日本語\n\ttab'},
    {"image_url": "https://img.example/2.jpg", "ratio": 0.1, "tiny": 1e-7, "big": 12345678901},
    {"image_url": "https://img.example/3.jpg", "nested": {"z": [1, 2.5, None, True], "a": {}}},
]


def _expected_lines(database_url: str, project_id: str) -> bytes:
    """The NDJSON an export wrote before: rows through SQLAlchemy, each line encoded whole."""

    async def run() -> bytes:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                query = select(job).where(job.c.project_id == project_id).order_by(job.c.seq)
                rows = (await conn.execute(query)).all()
        finally:
            await db.dispose()
        lines = []
        for row in rows:
            result = None
            if row.status == "completed":
                # a job without a draft (SQL or JSON null) has the empty annotations
                draft = empty_image() if row.draft is None else row.draft
                result = result_document(Base.IMAGE, row.data, draft)
            line = {
                "job_id": row.id,
                "reference_id": row.reference_id,
                "batch_id": row.batch_id,
                "status": row.status,
                "data": row.data,
                "result": result,
            }
            lines.append(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))
        return b"".join(lines)

    return asyncio.run(run())


def test_ndjson_from_driver_pages_matches_the_rows_sqlalchemy_reads(
    server: Server, project: ProjectHandle, tmp_path: Path
) -> None:
    url = server.settings.resolved_database_url()
    jobs_url = f"/v1/projects/{project.project_id}/jobs"
    for i, data in enumerate(ODD_DATA):  # left open: exported with a null result
        assert project.api.post(jobs_url, json=project.job(f"odd-{i}", data=data)).status_code in (
            200,
            201,
        )
    # more than two pages of completed jobs: keyset positions and the page read ahead
    count = 2 * export_runs.PAGE_SIZE + 7
    seed_completed(
        url,
        project_id=project.project_id,
        batch_id=project.default_batch_id,
        workflow_id=project.work_flow_id,
        count=count,
    )
    out = tmp_path / "all.ndjson"

    summary = _export_ndjson(url, project, out, "completed,created")
    assert summary["exported_jobs"] == count + len(ODD_DATA)
    written = out.read_bytes()
    assert written == _expected_lines(url, project.project_id)
    first = orjson.loads(written.split(b"\n", 1)[0])
    assert first["data"] == ODD_DATA[0] and first["result"] is None


def _poly(x: float) -> dict[str, Any]:
    points = {"p1": {"x": x, "y": 0.1}, "p2": {"x": x + 0.2, "y": 0.1}, "p3": {"x": x, "y": 0.4}}
    return {"_id": f"p{x}", "label": "tree", "attributes": {}, "points": points}


def _rect(label: str, x: float, **attributes: Any) -> dict[str, Any]:
    corners = [{"x": x, "y": 1e-7}, {"x": x + 0.1, "y": 1e-7}, {"x": x + 0.1, "y": 0.3}]
    wrapped = {name: {"value": value} for name, value in attributes.items()}
    return {"_id": f"r{x}", "label": label, "attributes": wrapped, "coordinates": corners}


FIVE = {"rectangles": [_rect("car", 0.1)], "polygons": [], "lines": [], "landmarks": []}
FIVE = {**FIVE, "cuboids": [{"_id": "c", "label": "box", "big": 12345678901}]}
ODD_DRAFTS: list[Any] = [
    {"rectangles": [_rect('vélo "x"\n\t\\ 日本', 0.25, colour="红", n=3, f=0.1)]},
    {"rectangles": [_rect("car", 0.5)], "polygons": [_poly(0.1), _poly(0.3)]},
    FIVE,
    {**FIVE, "classifications": []},
    {**FIVE, "classifications": [{"_id": "k", "label": "scene", "answer": "day"}]},
    {"polygons": [_poly(0.2)], "rectangles": [_rect("car", 0.1)]},  # not in the result's order
    {"rectangles": [_rect("car", 0.1)], "lines": []},  # polygons left out
    {"rectangles": [], "classifications": [{"_id": "k", "label": "scene"}]},
    {"rectangles": [], "polygons": {}},  # not a list: the result lists its keys
    {"rectangles": [], "polygons": [], "lines": [], "landmarks": [], "cuboids": [], "x": 1},
    {},
    None,  # JSON null
    "sql-null",
]
ODD_JOB_DATA: list[Any] = [
    {"image_url": 'https://img.example/é "q"\\.jpg', "image_width": 10, "image_height": 5},
    {"image_width": 10, "image_url": "https://img.example/later.jpg", "tiny": 1e-7},
    {"image_url": None},
    {"no_url": True, "nested": {"z": [1, 2.5, None, True], "a": {}}},
]


def _insert(database_url: str, project: ProjectHandle, rows: list[tuple[str, Any, Any]]) -> None:
    """Jobs with these (status, data, draft) straight into the default batch."""

    async def run() -> None:
        db = Database(database_url, pool_size=1)
        now = utcnow()
        try:
            async with db.write() as conn:
                last = await conn.scalar(
                    update(batch)
                    .where(batch.c.id == project.default_batch_id)
                    .values(last_seq=batch.c.last_seq + len(rows))
                    .returning(batch.c.last_seq)
                )
                first = int(last or 0) - len(rows) + 1
                values = []
                for i, (status, data, draft) in enumerate(rows):
                    job_id = str(uuid.uuid4())
                    values.append(
                        {
                            "project_id": project.project_id,
                            "id": job_id,
                            "batch_id": project.default_batch_id,
                            "seq": first + i,
                            "reference_id": f'odd-draft-{i} "é"',
                            "payload_hash": hashlib.sha256(job_id.encode()).hexdigest(),
                            "workflow_id": project.work_flow_id,
                            "tag": "default",
                            "type": "NON_TEST",
                            "priority_weight": 5,
                            "status": status,
                            "frames": 1,
                            "annotations": 0,
                            "data": data,
                            "step_index": 1,
                            "queue": None,
                            "draft": null() if draft == "sql-null" else draft,
                            "created_at": now,
                            "updated_at": now,
                            "completed_at": now,
                        }
                    )
                await conn.execute(job.insert(), values)
        finally:
            await db.dispose()

    asyncio.run(run())


def test_ndjson_of_drafts_and_data_of_every_layout_matches_the_rows_sqlalchemy_reads(
    server: Server, project: ProjectHandle, tmp_path: Path
) -> None:
    url = server.settings.resolved_database_url()
    rows: list[tuple[str, Any, Any]] = [
        ("completed", data, draft) for draft in ODD_DRAFTS for data in ODD_JOB_DATA
    ]
    rows += [("created", [1, "not an object"], None), ("aborted", ODD_JOB_DATA[0], FIVE)]
    _insert(url, project, rows)
    out = tmp_path / "odd.ndjson"

    assert _export_ndjson(url, project, out, "completed,created,aborted")["exported_jobs"] == len(
        rows
    )
    written = out.read_bytes()
    assert written == _expected_lines(url, project.project_id)
    lines = [orjson.loads(line) for line in written.splitlines()]
    assert lines[0]["result"]["data"]["annotations"] == {
        "rectangles": ODD_DRAFTS[0]["rectangles"],
        "polygons": [],
        "lines": [],
        "landmarks": [],
        "cuboids": [],
    }
    assert lines[0]["result"]["data"]["image_url"] == ODD_JOB_DATA[0]["image_url"]
    assert lines[-2]["result"] is None and lines[-2]["data"] == [1, "not an object"]


def _export_ndjson(url: str, project: ProjectHandle, out: Path, statuses: str) -> dict[str, Any]:
    """The project's NDJSON export of ``statuses`` into ``out``, as the export runner makes it."""

    async def export() -> dict[str, Any]:
        db = Database(url)
        try:
            return await export_runs.export_to_file(
                db, project_id=project.project_id, format="ndjson", out=out, statuses=statuses
            )
        finally:
            await db.dispose()

    return asyncio.run(export())
