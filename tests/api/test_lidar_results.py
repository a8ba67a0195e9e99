"""Lidar jobs through the worker API: 3D cuboid trackers and point segmentation are validated
with the path of the offending value; a point-segmentation job's result carries a legend and a
PCD of ``x y z label_key`` in the input's point order, fetched like any result."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np

from labelyard.core.pointcloud import parse_pcd_header
from labelyard.exports.kitti import kitti_line
from tests.api.test_lifecycle import act, claim, data_of, error_of, set_schema
from tests.conftest import Server, WorkerHandle
from tests.core.pcd import pcd_bytes
from tests.lidar import HOST, NewProject, convert, create_job, files
from tests.test_exports import _download, run_exports

NewWorker = Callable[..., WorkerHandle]

SEG_XYZ = np.array(
    [[0, 0, 0], [1, 0, 0], [np.nan, np.nan, np.nan], [2, 0, 0], [3, 0, 0], [4, 0, 0]],
    dtype=np.float32,
)
SEG_PCD = pcd_bytes({"x": SEG_XYZ[:, 0], "y": SEG_XYZ[:, 1], "z": SEG_XYZ[:, 2]}, "binary")
SCHEMA = {"classes": [{"name": "car"}, {"name": "road"}]}


def cuboid(_id: str, frames: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": _id,
        "type": "cuboid3d",
        "label": "car",
        "attributes": {},
        "_isStationary": False,
        "frames": frames,
    }


def geometry(x: float, *, keyframe: bool = True, length: float = 4.0) -> dict[str, Any]:
    return {
        "position": {"x": x, "y": 1.0, "z": 0.8},
        "dimensions": {"x": length, "y": 1.8, "z": 1.6},
        "rotation": {"roll": 0.0, "pitch": 0.0, "yaw": 0.5},
        "points_inside": 10,
        "keyframe": keyframe,
    }


def points(_id: str, label: str, indices: list[int]) -> dict[str, Any]:
    return {
        "_id": _id,
        "type": "points",
        "label": label,
        "attributes": {},
        "frames": {"0": {"sensor_id": "lidar", "indices": indices}},
    }


def test_cuboid_tracks_go_through_annotate_and_review(
    server: Server, new_project: NewProject, new_worker: NewWorker
) -> None:
    p = new_project("SENSOR_FUSION")
    set_schema(server, p.project_id, SCHEMA)
    job_id = create_job(p, "street", f"{HOST}/ok.pcd", f"{HOST}/ok.bin")
    worker = new_worker(p.account_id)
    assert claim(worker, p.project_id)["job_id"] == job_id

    bad = [cuboid("car-1", {"f0": geometry(1.0, length=0.0)})]
    message = error_of(
        act(worker, p.project_id, job_id, "submit", {"annotations": bad}), 400, "GE_0001"
    )
    assert message.startswith("annotations[0].frames.f0.dimensions.x: must be greater than 0")
    unknown = [cuboid("car-1", {"f7": geometry(1.0)})]
    message = error_of(
        act(worker, p.project_id, job_id, "draft", {"annotations": unknown}), 400, "GE_0001"
    )
    assert message.startswith("annotations[0].frames.f7: is not a frame of this job")

    track = [cuboid("car-1", {"f0": geometry(1.0), "f1": geometry(2.0)})]
    data_of(act(worker, p.project_id, job_id, "submit", {"annotations": track}))
    assert claim(worker, p.project_id, "review")["draft"] == track
    corrected = [cuboid("car-1", {"f0": geometry(1.0), "f1": geometry(2.5)})]
    body = {"decision": "accept", "annotations": corrected}
    data_of(act(worker, p.project_id, job_id, "review", body))

    result = p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}/result").json()
    assert result["data"]["annotation_data"]["annotations"] == corrected

    # KITTI 3D object labels, one file per frame, beside NDJSON.
    url = f"/v1/projects/{p.project_id}/exports"
    queued = data_of(p.api.post(url, json={"format": "kitti3d"}))
    run_exports(server)
    done = data_of(p.api.get(f"{url}/{queued['export_id']}"))
    assert done["status"] == "done", done
    archive = zipfile.ZipFile(io.BytesIO(_download(p, done["download_url"])))
    assert sorted(archive.namelist()) == [
        "calib/000000.txt",
        "calib/000001.txt",
        "frames.csv",
        "label_2/000000.txt",
        "label_2/000001.txt",
    ]
    assert archive.read("label_2/000001.txt").decode() == kitti_line("car", geometry(2.5))
    assert archive.read("frames.csv").decode().splitlines()[2] == (
        f"000001.txt,{job_id},street,f1,{HOST}/ok.bin"
    )
    image = new_project("IMAGE")
    message = error_of(
        image.api.post(f"/v1/projects/{image.project_id}/exports", json={"format": "kitti3d"}),
        400,
        "GE_0001",
    )
    assert "kitti3d exports are for SENSOR_FUSION" in message


def test_point_segmentation_result_is_a_legend_and_a_label_pcd(
    server: Server, new_project: NewProject, new_worker: NewWorker
) -> None:
    p = new_project("POINT_CLOUD_SEGMENTATION")
    set_schema(server, p.project_id, SCHEMA)
    data = {
        "sensor_data": {
            "sensor_meta": [{"id": "lidar", "name": "lidar", "modality": "lidar"}],
            "sensors": [{"sensor_id": "lidar", "data_url": f"{HOST}/seg.pcd"}],
        }
    }
    job_id = data_of(p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job("seg", data=data)))[
        "job_id"
    ]
    worker = new_worker(p.account_id)
    assert claim(worker, p.project_id)["job_id"] == job_id

    early = [points("car-1", "car", [0])]
    message = error_of(
        act(worker, p.project_id, job_id, "submit", {"annotations": early}), 400, "GE_0001"
    )
    assert "is not converted yet" in message

    convert(server, files(**{"/seg.pcd": (200, SEG_PCD)}))
    too_far = [points("car-1", "car", [0, 6])]
    message = error_of(
        act(worker, p.project_id, job_id, "submit", {"annotations": too_far}), 400, "GE_0001"
    )
    assert message == (
        "annotations[0].frames.0.indices[1]: 6 is not a point of the file (6 points)"
    )
    twice = [points("car-1", "car", [0, 1]), points("road-1", "road", [1, 3])]
    message = error_of(
        act(worker, p.project_id, job_id, "submit", {"annotations": twice}), 400, "GE_0001"
    )
    assert message.startswith("annotations[1].frames.0.indices[0]: point 1 is already labelled")

    labelled = [points("car-1", "car", [0, 1]), points("road-1", "road", [3, 4, 5])]
    data_of(act(worker, p.project_id, job_id, "submit", {"annotations": labelled}))
    assert claim(worker, p.project_id, "review")["job_id"] == job_id
    corrected = [points("car-1", "car", [0, 1, 5]), points("road-1", "road", [3, 4])]
    body = {"decision": "accept", "annotations": corrected}
    data_of(act(worker, p.project_id, job_id, "review", body))

    result = p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}/result").json()
    annotation_data = result["data"]["annotation_data"]
    assert [(e["id"], e["text"], e["label_key"]) for e in annotation_data["legend"]] == [
        ("car-1", "car", 1),
        ("road-1", "road", 2),
    ]
    link = p.api.get("/v1/attachments", params={"url": annotation_data["url"]})
    assert link.status_code == 302, link.text
    with server.client() as anonymous:
        pcd = anonymous.get(link.headers["location"]).content
    header = parse_pcd_header(pcd)
    assert [f.name for f in header.fields] == ["x", "y", "z", "label_key"]
    records = np.frombuffer(
        pcd[header.offset :],
        dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("label_key", "<u4")],
    )
    assert records["label_key"].tolist() == [1, 1, 0, 2, 2, 1]  # the NaN point is unlabelled
    np.testing.assert_array_equal(records["x"][[0, 1, 3]], SEG_XYZ[[0, 1, 3], 0])
    assert np.isnan(records["x"][2])
