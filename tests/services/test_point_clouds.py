"""Lidar files of sensor jobs: queued with the job, fetched and converted once, served through
signed links; files that cannot be fetched or read give the job a clear FS_0007 media error.

The worker's step runs in this process against the test server's database, as ``labelyard
worker`` does; the lidar files come from an ``httpx.MockTransport`` (no network).
"""

from __future__ import annotations

import boto3
import numpy as np
import pytest

from labelyard.core.pointcloud import read_layout
from tests.conftest import Server
from tests.lidar import (
    HOST,
    PCD,
    XYZ,
    NewProject,
    convert,
    create_job,
    editor_view,
    files,
    job_view,
    make_due,
    rows_of,
)
from tests.s3 import s3_server


def test_lidar_files_are_converted_once_and_served_through_signed_links(
    server: Server, new_project: NewProject
) -> None:
    p = new_project("SENSOR_FUSION")
    job_id = create_job(p, "two-frames", f"{HOST}/ok.pcd", f"{HOST}/ok.bin")
    queued = rows_of(server, p, job_id)
    assert [(r.frame_id, r.sensor_id, r.status) for r in queued] == [
        ("f0", "lidar", "queued"),
        ("f1", "lidar", "queued"),
    ]
    assert queued[0].field == "data.sensor_data.frames[0].sensors[1].data_url"

    convert(server, files())

    view = editor_view(server, p, job_id)
    assert view["media_error"] is None
    first, second = view["point_clouds"]
    assert (first["status"], first["points"], first["source_points"]) == ("ready", 3, 4)
    assert (second["status"], second["points"]) == ("ready", 2)
    with server.client() as anonymous:
        layout = read_layout(anonymous.get(first["url"]).content)
        np.testing.assert_array_equal(layout.xyz, XYZ[[0, 1, 3]])
        assert layout.source_index is not None
        assert layout.source_index.tolist() == [0, 1, 3]
        unsigned = first["url"].split("?", 1)[0]
        assert anonymous.get(unsigned).status_code == 403
        attachment = p.api.get("/v1/attachments", params={"url": unsigned})
        assert attachment.status_code == 403  # converted files are for the editor only
    assert "media_error" not in job_view(p, job_id)

    convert(server, {})  # converted once: nothing is fetched again
    assert [r.status for r in rows_of(server, p, job_id)] == ["ready", "ready"]


@pytest.mark.parametrize(
    ("served", "kind", "message"),
    [
        ({}, "INVALID_POINT_CLOUD_LINK", "cannot fetch the file: the server answered HTTP 404"),
        (
            {"/bad.pcd": (200, b"VERSION 0.7\nFIELDS x y\nDATA ascii\n")},
            "INVALID_POINT_CLOUD",
            "no SIZE",
        ),
        ({"/bad.pcd": (200, PCD[:-20])}, "INVALID_POINT_CLOUD", "truncated PCD"),
        ({"/bad.pcd": (200, b"\xff" * 30)}, "INVALID_POINT_CLOUD", "no DATA line"),
    ],
)
def test_a_file_that_cannot_be_fetched_or_read_gives_the_job_a_media_error(
    server: Server,
    new_project: NewProject,
    served: dict[str, tuple[int, bytes]],
    kind: str,
    message: str,
) -> None:
    p = new_project("SENSOR_FUSION")
    job_id = create_job(p, "bad", f"{HOST}/ok.pcd", f"{HOST}/bad.pcd")
    convert(server, files(**served))

    field = "data.sensor_data.frames[1].sensors[1].data_url"
    text = job_view(p, job_id)["media_error"]
    assert text.startswith(f"{field} ({HOST}/bad.pcd): ")
    assert message in text
    error = editor_view(server, p, job_id)["media_error"]
    assert error["code"] == "FS_0007"
    assert error["failures"] == [
        {
            "field": "data.sensor_data.frames[1].sensors[1].data_url",
            "type": kind,
            "message": error["failures"][0]["message"],
        }
    ]
    assert message in error["failures"][0]["message"]
    assert error["message"].startswith(f"{field}: ")
    view = editor_view(server, p, job_id)
    assert [f["status"] for f in view["point_clouds"]] == ["ready", "failed"]
    assert view["point_clouds"][1]["url"] is None  # nothing stored for the bad file
    assert rows_of(server, p, job_id)[1].blob_key is None


def test_unreachable_servers_are_retried_then_given_up(
    server: Server, new_project: NewProject
) -> None:
    p = new_project("SENSOR_FUSION")
    job_id = create_job(p, "flaky", f"{HOST}/flaky.pcd")
    served = files(**{"/flaky.pcd": (503, b"")})
    convert(server, served)
    row = rows_of(server, p, job_id)[0]
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.error == "the server answered HTTP 503"
    assert "media_error" not in job_view(p, job_id)  # not given up yet

    for attempt in range(2, 6):
        make_due(server, p, job_id)
        convert(server, served)
        assert rows_of(server, p, job_id)[0].attempts == attempt
    row = rows_of(server, p, job_id)[0]
    assert row.status == "failed"
    assert (
        "cannot fetch the file: the server answered HTTP 503" in job_view(p, job_id)["media_error"]
    )
    failures = editor_view(server, p, job_id)["media_error"]["failures"]
    assert failures[0]["type"] == "INVALID_POINT_CLOUD_LINK"


def test_cloud_storage_urls_need_a_matching_storage_connection(
    server: Server, new_project: NewProject
) -> None:
    p = new_project("POINT_CLOUD_SEGMENTATION")
    data = {
        "sensor_data": {
            "sensor_meta": [{"id": "lidar", "name": "lidar", "modality": "lidar"}],
            "sensors": [{"sensor_id": "lidar", "data_url": "s3://bucket/scan.pcd"}],
        }
    }
    response = p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job("s3", data=data))
    job_id = response.json()["data"]["job_id"]
    convert(server, files())
    error = job_view(p, job_id)["media_error"]
    assert error.startswith("data.sensor_data.sensors[0].data_url (s3://bucket/scan.pcd): ")
    assert "no s3 storage connection of this account has a bucket prefix matching" in error


def test_private_addresses_are_refused_by_the_outbound_policy(
    server: Server, new_project: NewProject
) -> None:
    p = new_project("SENSOR_FUSION")
    job_id = create_job(p, "ssrf", "http://10.1.2.3/scan.pcd", "http://169.254.169.254/x.pcd")
    convert(server, files())
    error = job_view(p, job_id)["media_error"]
    assert error.count("cannot fetch the file: refused") == 2, error
    assert rows_of(server, p, job_id)[0].attempts == 1  # given up at once, not retried


def test_image_jobs_queue_no_point_clouds(server: Server, new_project: NewProject) -> None:
    p = new_project("IMAGE")
    response = p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job("img"))
    job_id = response.json()["data"]["job_id"]
    assert rows_of(server, p, job_id) == []


def test_cloud_storage_urls_are_read_through_the_accounts_storage_connection(
    server: Server, new_project: NewProject
) -> None:
    p = new_project("POINT_CLOUD_SEGMENTATION")
    with s3_server("lidar-bucket") as s3:
        boto3.client(
            "s3",
            endpoint_url=s3.endpoint_url,
            region_name=s3.region,
            aws_access_key_id=s3.access_key_id,
            aws_secret_access_key=s3.secret_access_key,
        ).put_object(Bucket="lidar-bucket", Key="scans/0.pcd", Body=PCD)
        with server.admin() as admin:
            answer = admin.post(
                f"/admin/v1/accounts/{p.account_id}/storage",
                json={
                    "scheme": "s3",
                    "endpoint_url": s3.endpoint_url,
                    "region": s3.region,
                    "bucket_prefix": "lidar-bucket",
                    "access_key_id": s3.access_key_id,
                    "secret_access_key": s3.secret_access_key,
                },
            )
            assert answer.status_code == 200, answer.text
        data = {
            "sensor_data": {
                "sensor_meta": [{"id": "lidar", "name": "lidar", "modality": "lidar"}],
                "sensors": [{"sensor_id": "lidar", "data_url": "s3://lidar-bucket/scans/0.pcd"}],
            }
        }
        response = p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job("s3ok", data=data))
        job_id = response.json()["data"]["job_id"]
        convert(server, {}, loopback=True)
    [row] = rows_of(server, p, job_id)
    assert (row.status, row.points, row.source_points) == ("ready", 3, 4)
    assert "media_error" not in job_view(p, job_id)
