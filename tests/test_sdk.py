"""The ``playment`` SDK 1.0.5 from PyPI, unchanged but for its base URL, against labelyard."""

from __future__ import annotations

import json
from collections.abc import Callable

import playment
import pytest
from playment import client_handler
from playment.config import json2obj

from tests.conftest import ProjectHandle, Server

NewProject = Callable[..., ProjectHandle]


@pytest.fixture
def sdk(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the SDK's URL table at the test server (the SDK hard-codes its host)."""
    base = server.base_url
    urls = {
        "job_creation": base + "/projectsvc/projects/{}/jobs",
        "batch_creation": base + "/v1/project/{}/batch",
        "project_summary": base + "/v0/projects/{}/stats",
        "project_batch_details": base + "/v0/projects/{}/details",
        "batch_summary": base + "/v0/projects/{}/batch/{}",
        "job_result": base + "/v0/projects/{}/jobs/{}",
    }
    monkeypatch.setattr(client_handler, "urls", json2obj(json.dumps(urls)))


@pytest.mark.usefixtures("sdk")
def test_sdk_image_flow(project: ProjectHandle) -> None:
    client = playment.Client(project.api_key)
    pid = project.project_id
    batch = client.create_batch(name="sdk", label="sdk", description="from the SDK", project_id=pid)
    job_ids = []
    for i in range(105):
        data = playment.ImageData(image_url=f"https://img.example/{i}.jpg", metadata={"i": i})
        job = client.create_job(
            reference_id=f"sdk-{i}", tag="default", data=data, project_id=pid, batch_id=batch.id
        )
        job_ids.append(job.id)
    # Retrying a create (same payload) is harmless.
    replay = client.create_job(
        reference_id="sdk-0",
        tag="default",
        project_id=pid,
        batch_id=batch.id,
        data=playment.ImageData(image_url="https://img.example/0.jpg", metadata={"i": 0}),
    )
    assert replay.id == job_ids[0]
    with pytest.raises(playment.PlaymentException) as raised:
        client.create_job(
            reference_id="sdk-0",
            tag="default",
            project_id=pid,
            data=playment.ImageData(image_url="https://img.example/changed.jpg"),
        )
    assert raised.value.code == "FS_0001"

    summary = client.get_project_summary(project_id=pid)
    assert (summary.total_jobs, summary.total_batches, summary.base) == (105, 2, "IMAGE")
    details = client.get_project_batches_summary(project_id=pid)
    assert {b.name for b in details.batches} == {"Default batch", "sdk"}

    seen = []
    page = client.get_batch_summary(batch_id=batch.id, project_id=pid)
    seen += [job.id for job in page.jobs]
    while page.next_page_token:
        page = client.get_batch_summary(
            batch_id=batch.id, project_id=pid, next_page_token=page.next_page_token
        )
        seen += [job.id for job in page.jobs]
    assert seen == job_ids

    result = client.get_job_result(project_id=pid, job_id=job_ids[3])
    assert (result.reference_id, result.status, result.result) == ("sdk-3", "created", "")


@pytest.mark.usefixtures("sdk")
def test_sdk_sensor_fusion_job(new_project: NewProject) -> None:
    p = new_project("SENSOR_FUSION")
    client = playment.Client(p.api_key)
    # SensorData's default SensorFusionData() is one shared object (a mutable default in the
    # SDK), so a fresh one is passed in, as any SDK user making more than one job must.
    data = playment.SensorData(playment.SensorFusionData())
    data.add_sensor(playment.Sensor(_id="lidar", name="lidar", primary_view=True, modality="lidar"))
    camera = playment.Sensor(_id="cam", name="front", primary_view=False, modality="camera")
    camera.add_intrinsics(
        playment.Intrinsics(
            cx=1, cy=1, fx=1, fy=1, k1=0, k2=0, k3=0, k4=0, p1=0, p2=0, skew=0, scale_factor=1
        )
    )
    data.add_sensor(camera)
    pose = playment.SensorPose(
        heading=playment.Heading(w=1, x=0, y=0, z=0), position=playment.Position(x=1, y=2, z=3)
    )
    for i in range(3):
        frame = playment.Frame(frame_id=str(i))
        frame.add_sensor(
            playment.SensorFrameObject(
                data_url=f"https://pc.example/{i}.pcd", sensor_id="lidar", sensor_pose=pose
            )
        )
        frame.add_sensor(
            playment.SensorFrameObject(data_url=f"https://img.example/{i}.jpg", sensor_id="cam")
        )
        data.add_frame(frame)
    job = client.create_job(reference_id="sf-1", tag="default", data=data, project_id=p.project_id)
    assert client.get_job_result(project_id=p.project_id, job_id=job.id).status == "created"
    assert client.get_project_summary(project_id=p.project_id).total_frames == 3
