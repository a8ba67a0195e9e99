"""First-start chores: the admin token and, on an empty database, a demo project."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from labelyard.blobs import BlobStore
from labelyard.config import Settings
from labelyard.core.model import Base, Project
from labelyard.datadir import prepare_data_dir
from labelyard.demo import DEMO_MEDIA_PREFIX, DEMO_MEDIA_ROUTE, DEMO_SCHEMA, demo_pictures
from labelyard.services import accounts, jobs, projects, quality, utcnow, workers
from labelyard.store import accounts as account_store
from labelyard.store.engine import Database

ADMIN_TOKEN_FILE = "admin_token"
DEMO_ACCOUNT = "demo"
DEMO_PROJECT = "Demo images"
DEMO_VIDEO_PROJECT = "Demo video"
DEMO_WORKER = "demo annotator"
DEMO_STREET_PROJECT = "Demo street (lidar)"
DEMO_STREET_PREFIX = "sf-"
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
    video_project_id: str
    video_api_key: str
    image_url: str


async def create_demo_if_empty(db: Database, blobs: BlobStore, base_url: str) -> Demo | None:
    """If the database has no account yet: a demo account with an IMAGE project and a VIDEO
    project (a street-scene label schema each), sample pictures drawn locally and kept in the
    blob store, a few jobs on them, and a demo annotator."""
    async with db.read() as conn:
        if await account_store.any_account(conn):
            return None
    issued = await accounts.create_account(db, name=DEMO_ACCOUNT)
    pictures = demo_pictures()
    for name, data in pictures.items():
        await blobs.put(DEMO_MEDIA_PREFIX + name, data)
    media = f"{base_url}{DEMO_MEDIA_ROUTE}"
    stills = sorted(name for name in pictures if name.startswith("street-"))
    frames = sorted(name for name in pictures if name.startswith("drive-"))

    images = await projects.create_project(
        db, name=DEMO_PROJECT, base="IMAGE", account_id=issued.account_id
    )
    await projects.set_label_schema(db, project_id=images["project_id"], schema=DEMO_SCHEMA)
    await jobs.create_jobs(
        db,
        _project(images, DEMO_PROJECT, Base.IMAGE),
        [
            {
                "reference_id": name.removesuffix(".png"),
                "work_flow_id": images["work_flow_id"],
                "data": {"image_url": media + name},
            }
            for name in stills
        ],
    )
    video = await projects.create_project(
        db, name=DEMO_VIDEO_PROJECT, base="VIDEO", account_id=issued.account_id
    )
    await projects.set_label_schema(db, project_id=video["project_id"], schema=DEMO_SCHEMA)
    await jobs.create_job(
        db,
        _project(video, DEMO_VIDEO_PROJECT, Base.VIDEO),
        {
            "reference_id": "drive",
            "work_flow_id": video["work_flow_id"],
            "data": {
                "video_data": {
                    "frames": [
                        {"frame_id": name.removesuffix(".png"), "src": media + name}
                        for name in frames
                    ]
                }
            },
        },
    )
    # One person tries the whole flow with the demo's one worker: let it review its own work
    # (real projects never do unless the owner allows it, docs/quality.md).
    for made, name, base in (
        (images, DEMO_PROJECT, Base.IMAGE),
        (video, DEMO_VIDEO_PROJECT, Base.VIDEO),
    ):
        await quality.update(db, _project(made, name, base), {"allow_self_review": True})
    worker = await workers.create_worker(
        db, account_id=issued.account_id, name=DEMO_WORKER, role="both"
    )
    return Demo(
        account_id=issued.account_id,
        project_id=images["project_id"],
        work_flow_id=images["work_flow_id"],
        default_batch_id=images["default_batch_id"],
        api_key=images["api_key"],
        worker_token=worker["token"],
        video_project_id=video["project_id"],
        video_api_key=video["api_key"],
        image_url=media + stills[0],
    )


def _project(created: dict[str, str], name: str, base: Base) -> Project:
    return Project(id=created["project_id"], account_id=created["account_id"], name=name, base=base)


async def create_street_demo(
    db: Database, blobs: BlobStore, base_url: str, *, account_id: str
) -> str:
    """A SENSOR_FUSION project with one job of the generated street scene (``demo_scene``): its
    camera images and lidar files kept in the blob store and served at ``/demo-media/`` like
    the other demo pictures, its lidar files converted at once, so the 3D editor opens without
    a worker. Answers the project id."""
    from labelyard import demo_scene  # numpy: only on a first start
    from labelyard.blobs import point_cloud_key
    from labelyard.core.pointcloud import browser_layout, parse_point_cloud
    from labelyard.store import point_clouds as point_cloud_store

    files = demo_scene.demo_files()
    for name, content in files.items():
        await blobs.put(DEMO_MEDIA_PREFIX + DEMO_STREET_PREFIX + name, content)
    created = await projects.create_project(
        db, name=DEMO_STREET_PROJECT, base="SENSOR_FUSION", account_id=account_id
    )
    await projects.set_label_schema(db, project_id=created["project_id"], schema=DEMO_STREET_SCHEMA)
    project = _project(created, DEMO_STREET_PROJECT, Base.SENSOR_FUSION)
    await quality.update(db, project, {"allow_self_review": True})  # the demo's one worker
    media = f"{base_url}{DEMO_MEDIA_ROUTE}{DEMO_STREET_PREFIX}"

    def url(kind: str, frame: int) -> str:
        extension = "pcd" if kind == "lidar" else "png"
        return f"{media}{kind}-{frame:03d}.{extension}"

    body = {
        "reference_id": "street-1",
        "work_flow_id": created["work_flow_id"],
        "data": {"sensor_data": demo_scene.sensor_data(demo_scene.DEMO_FRAMES, url)},
    }
    job = await jobs.create_job(db, project, body)
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
