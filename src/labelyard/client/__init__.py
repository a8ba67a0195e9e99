"""A typed Python client of labelyard's jobs API (and of the Playment / GT Studio API it speaks).

    from labelyard.client import Client

    with Client("http://127.0.0.1:8080", "ly_...") as client:
        job = client.create_job(project_id, "img-1", {"image_url": "..."}, tag="default")
        for item in client.batch_jobs(project_id, batch_id, status="completed"):
            print(item.reference_id, client.result(project_id, item.id))

Only ``httpx`` is needed: nothing of the server is imported. See docs/client.md.
"""

from labelyard.client.client import DEFAULT_CHUNK_SIZE, MAX_BULK_JOBS, Client
from labelyard.client.errors import LabelyardError
from labelyard.client.models import (
    Batch,
    BatchJob,
    BulkOutcome,
    CreatedJob,
    ItemError,
    Job,
    ProjectDetails,
    ProjectStats,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_BULK_JOBS",
    "Batch",
    "BatchJob",
    "BulkOutcome",
    "Client",
    "CreatedJob",
    "ItemError",
    "Job",
    "LabelyardError",
    "ProjectDetails",
    "ProjectStats",
]
