"""First-start chores: the admin token and, on an empty database, a demo project."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from labelyard.config import Settings
from labelyard.datadir import prepare_data_dir
from labelyard.services import accounts, projects, utcnow, workers
from labelyard.store import accounts as account_store
from labelyard.store.engine import Database

ADMIN_TOKEN_FILE = "admin_token"
DEMO_ACCOUNT = "demo"
DEMO_PROJECT = "Demo images"
DEMO_WORKER = "demo annotator"
DEMO_STREET_PROJECT = "Demo street (lidar)"
DEMO_STREET_FOLDER = "demo"
DEMO_STREET_SCHEMA = {
    "classes": [
        {"name": "car", "attributes": [{"name": "parked", "type": "boolean"}]},
        {"name": "pedestrian"},
    ]
}


def ensure_admin_token(settings: Settings) -> tuple[str, bool]:
    """The admin token, and whether it was generated just now (to be shown once)."""
    if settings.admin_token:
        return settings.admin_token, False
    path = Path(settings.data_dir) / ADMIN_TOKEN_FILE
    if path.exists():
        return path.read_text().strip(), False
    prepare_data_dir(settings)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token, True


def admin_token(settings: Settings) -> str:
    """The admin token (generated and kept in the data dir if not configured)."""
    return ensure_admin_token(settings)[0]


@dataclass(frozen=True, slots=True)
class Demo:
    """What the first start made so a newcomer can call the API at once."""

    account_id: str
    project_id: str
    work_flow_id: str
    default_batch_id: str
    api_key: str
    worker_token: str


async def create_demo_if_empty(db: Database) -> Demo | None:
    """A demo account with an IMAGE project, if the database has no account yet."""
    async with db.read() as conn:
        if await account_store.any_account(conn):
            return None
    issued = await accounts.create_account(db, name=DEMO_ACCOUNT)
    created = await projects.create_project(
        db, name=DEMO_PROJECT, base="IMAGE", account_id=issued.account_id
    )
    worker = await workers.create_worker(
        db, account_id=issued.account_id, name=DEMO_WORKER, role="both"
    )
    return Demo(
        account_id=issued.account_id,
        project_id=created["project_id"],
        work_flow_id=created["work_flow_id"],
        default_batch_id=created["default_batch_id"],
        api_key=created["api_key"],
        worker_token=worker["token"],
    )


async def create_street_demo(db: Database, *, settings: Settings, account_id: str) -> str:
    """A SENSOR_FUSION project with one job of the generated street scene (``demo_scene``):
    its files are written under ``<data dir>/demo`` (served at ``/ui/demo/``), its lidar files
    converted at once into the blob store, so the 3D editor opens without a worker. The job's
    URLs name the configured public base URL. Answers the project id."""
    from labelyard import demo_scene  # numpy and Pillow: only on a first start
    from labelyard.blobs import point_cloud_key
    from labelyard.blobs.config import from_settings
    from labelyard.core.pointcloud import browser_layout, parse_point_cloud
    from labelyard.services import jobs
    from labelyard.store import point_clouds as point_cloud_store

    folder = Path(settings.data_dir) / DEMO_STREET_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    files = demo_scene.demo_files()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    created = await projects.create_project(
        db, name=DEMO_STREET_PROJECT, base="SENSOR_FUSION", account_id=account_id
    )
    await projects.set_label_schema(db, project_id=created["project_id"], schema=DEMO_STREET_SCHEMA)
    project = await accounts.authorize(
        db, api_key=created["api_key"], project_id=created["project_id"]
    )
    base = settings.resolved_public_base_url()

    def url(kind: str, frame: int) -> str:
        extension = "pcd" if kind == "lidar" else "png"
        return f"{base}/ui/demo/{kind}-{frame:03d}.{extension}"

    body = {
        "reference_id": "street-1",
        "work_flow_id": created["work_flow_id"],
        "data": {"sensor_data": demo_scene.sensor_data(demo_scene.DEMO_FRAMES, url)},
    }
    job = await jobs.create_job(db, project, body)
    blobs = from_settings(settings)
    now = utcnow()
    for frame in range(demo_scene.DEMO_FRAMES):
        cloud = parse_point_cloud(files[f"lidar-{frame:03d}.pcd"], name="demo.pcd")
        key = point_cloud_key(project.id, job["job_id"], frame)
        await blobs.put(key, browser_layout(cloud))
        async with db.write() as conn:
            await point_cloud_store.update_point_cloud(
                conn,
                project_id=project.id,
                job_id=job["job_id"],
                position=frame,
                status=point_cloud_store.READY,
                blob_key=key,
                points=cloud.count,
                source_points=cloud.source_count,
                updated_at=now,
            )
    return project.id
