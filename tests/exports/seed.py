"""Completed jobs written straight into the database, many at a time (no HTTP lifecycle)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from labelyard.store.engine import Database
from labelyard.store.tables import batch, job

CHUNK = 5000


def box(i: int) -> dict[str, Any]:
    """A rectangle that differs from job to job."""
    x, y = (i % 50) / 100, (i % 40) / 100
    corners = [
        {"x": x, "y": y},
        {"x": x + 0.3, "y": y},
        {"x": x + 0.3, "y": y + 0.2},
        {"x": x, "y": y + 0.2},
    ]
    return {"_id": "r1", "label": "car", "attributes": {}, "coordinates": corners}


def seed_completed(
    database_url: str,
    *,
    project_id: str,
    batch_id: str,
    workflow_id: str,
    count: int,
    prefix: str = "seed",
) -> None:
    """Insert ``count`` completed IMAGE jobs (one box each, sizes in data) into the batch."""

    async def run() -> None:
        db = Database(database_url, pool_size=1)
        now = datetime.now(UTC)
        try:
            async with db.write() as conn:
                first = await conn.scalar(
                    update(batch)
                    .where(batch.c.project_id == project_id, batch.c.id == batch_id)
                    .values(
                        last_seq=batch.c.last_seq + count,
                        total_jobs=batch.c.total_jobs + count,
                        completed_jobs=batch.c.completed_jobs + count,
                        total_frames=batch.c.total_frames + count,
                        completed_frames=batch.c.completed_frames + count,
                        annotations=batch.c.annotations + count,
                    )
                    .returning(batch.c.last_seq)
                )
            start = int(first or 0) - count + 1
            for offset in range(0, count, CHUNK):
                rows = []
                for i in range(offset, min(count, offset + CHUNK)):
                    job_id = str(uuid.uuid4())
                    rows.append(
                        {
                            "project_id": project_id,
                            "id": job_id,
                            "batch_id": batch_id,
                            "seq": start + i,
                            "reference_id": f"{prefix}-{i}",
                            "payload_hash": hashlib.sha256(job_id.encode()).hexdigest(),
                            "workflow_id": workflow_id,
                            "tag": "default",
                            "type": "NON_TEST",
                            "priority_weight": 5,
                            "status": "completed",
                            "frames": 1,
                            "annotations": 1,
                            "data": {
                                "image_url": f"https://img.example/{prefix}/{i}.jpg",
                                "image_width": 1280,
                                "image_height": 720,
                            },
                            "step_index": 1,
                            "queue": None,
                            "draft": {"rectangles": [box(i)]},
                            "created_at": now,
                            "updated_at": now,
                            "completed_at": now,
                        }
                    )
                async with db.write() as conn:
                    await conn.execute(job.insert(), rows)
        finally:
            await db.dispose()

    asyncio.run(run())
