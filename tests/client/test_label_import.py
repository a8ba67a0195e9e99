"""``labelyard jobs import --format coco|yolo|voc|cvat|labelstudio``, as real processes.

Round trips: jobs completed in labelyard are exported (``labelyard export``) as COCO, YOLO and
VOC; the export is imported into a second project (objects become pre-labels), a worker
accepts the pre-labels as they are, and the second project's export has the same annotations.
CVAT 1.1 XML and Label Studio JSON are written here by hand to those formats' specs. Bad files
are refused with the file and line or element, and nothing is imported."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_lifecycle import act, claim, data_of, set_schema
from tests.client.conftest import LABELYARD, cli
from tests.conftest import ProjectHandle, Server, make_project, make_worker

SCHEMA = {
    "classes": [
        {
            "name": "car",
            "shapes": ["rectangle", "polygon"],
            "attributes": [
                {"name": "colour", "type": "text"},
                {"name": "occluded", "type": "boolean"},
            ],
        },
        {"name": "person", "shapes": ["rectangle", "polygon", "line", "landmark"]},
    ]
}
W, H = 640, 480


def _box(object_id: str, label: str, x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return {
        "_id": object_id,
        "label": label,
        "attributes": {},
        "coordinates": [{"x": x / W, "y": y / H} for x, y in corners],
    }


def _polygon(object_id: str, label: str, points: list[tuple[float, float]]) -> dict[str, Any]:
    return {
        "_id": object_id,
        "label": label,
        "attributes": {},
        "points": {f"p{i}": {"x": x / W, "y": y / H} for i, (x, y) in enumerate(points, 1)},
    }


def annotations_of(i: int) -> dict[str, Any]:
    """Job ``i``'s objects: two boxes on whole pixels and (every other job) a polygon."""
    boxes = [
        _box("a", "car", 10 + i, 20, 200 + i, 120),
        _box("b", "person", 300, 40 + i, 380, 400),
    ]
    polygons = [_polygon("c", "car", [(50, 50), (150, 60 + i), (90, 200)])] if i % 2 else []
    return {"rectangles": boxes, "polygons": polygons}


def _complete_all(server: Server, p: ProjectHandle, submit: Any) -> None:
    """A worker claims every job, submits ``submit(claimed)`` and accepts it in review."""
    worker = make_worker(server, p.account_id)
    while (job := claim(worker, p.project_id)) is not None:
        data_of(act(worker, p.project_id, job["job_id"], "submit", {"annotations": submit(job)}))
        claim(worker, p.project_id, "review")
        data_of(act(worker, p.project_id, job["job_id"], "review", {"decision": "accept"}))
    worker.api.close()


def _project(server: Server, name: str) -> ProjectHandle:
    p = make_project(server, "IMAGE", name=name)
    set_schema(server, p.project_id, SCHEMA)
    return p


@pytest.fixture(scope="module")
def labelled(server: Server) -> Any:
    """A project of 6 completed jobs with boxes and polygons."""
    p = _project(server, "labelled")
    bodies = [
        {
            "reference_id": f"img-{i}",
            "work_flow_id": p.work_flow_id,
            "data": {
                "image_url": f"https://img.example/img-{i}.jpg",
                "image_width": W,
                "image_height": H,
            },
        }
        for i in range(6)
    ]
    data_of(p.api.post(f"/v1/projects/{p.project_id}/jobs/bulk", json={"jobs": bodies}))
    _complete_all(server, p, lambda job: annotations_of(int(job["reference_id"].split("-")[1])))
    yield p
    p.api.close()


def export(server: Server, project_id: str, fmt: str, out: Path) -> Path:
    """``labelyard export`` with the server's own settings."""
    env = {
        **os.environ,
        "LABELYARD_DATA_DIR": str(server.settings.data_dir),
        "LABELYARD_DATABASE_URL": server.settings.database_url,
    }
    done = subprocess.run(
        [*LABELYARD, "export", "--project", project_id, "--format", fmt, "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


def import_labels(
    server: Server, p: ProjectHandle, fmt: str, *files: Path | str, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return cli(
        server,
        p,
        "jobs",
        "import",
        *(str(f) for f in files),
        "--project",
        p.project_id,
        "--format",
        fmt,
        "--json",
        *extra,
    )


def _coco_view(path: Path) -> Any:
    """A COCO export's annotations by image reference id (ids and numbering aside)."""
    document = json.loads(path.read_text())
    names = {c["id"]: c["name"] for c in document["categories"]}
    images = {i["id"]: i["reference_id"] for i in document["images"]}
    found: dict[str, list[Any]] = {ref: [] for ref in images.values()}
    for a in document["annotations"]:
        found[images[a["image_id"]]].append(
            (names[a["category_id"]], a["bbox"], a["segmentation"], a["area"])
        )
    return {ref: sorted(items, key=repr) for ref, items in found.items()}


def _zip_view(path: Path, folder: str) -> Any:
    """A YOLO/VOC zip's label files by reference id (names are reference ids there)."""
    with zipfile.ZipFile(path) as archive:
        return {
            name.rsplit("/", 1)[1].rsplit(".", 1)[0]: archive.read(name).decode()
            for name in archive.namelist()
            if name.startswith(folder + "/")
        }


def _voc_objects(text: str) -> str:
    """A VOC document from its first <object> on (the file name and path hold job ids)."""
    return text[text.find("<object>") :]


@pytest.mark.parametrize("fmt", ["coco", "yolo", "voc"])
def test_an_export_imported_and_exported_again_has_the_same_annotations(
    server: Server, labelled: ProjectHandle, tmp_path: Path, fmt: str
) -> None:
    suffix = {"coco": "json", "yolo": "zip", "voc": "zip"}[fmt]
    first = export(server, labelled.project_id, fmt, tmp_path / f"first.{suffix}")
    target = _project(server, f"imported-{fmt}")
    done = import_labels(server, target, fmt, first)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"] == 6

    # The pre-labels are accepted as they are.
    _complete_all(server, target, lambda job: job["draft"])
    second = export(server, target.project_id, fmt, tmp_path / f"second.{suffix}")
    if fmt == "coco":
        assert _coco_view(second) == _coco_view(first)
    elif fmt == "yolo":
        assert _zip_view(second, "labels") == _zip_view(first, "labels")
        with zipfile.ZipFile(second) as a, zipfile.ZipFile(first) as b:
            assert a.read("classes.txt") == b.read("classes.txt")
    else:
        ours, theirs = _zip_view(second, "Annotations"), _zip_view(first, "Annotations")
        assert set(ours) == set(theirs)
        assert {k: _voc_objects(v) for k, v in ours.items()} == {
            k: _voc_objects(v) for k, v in theirs.items()
        }
    # A second import changes nothing (reference ids decide).
    again = json.loads(import_labels(server, target, fmt, first).stdout)
    assert again["created"] == 0 and again["already_there"] == 6
    target.api.close()


CVAT = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><name>street</name></task></meta>
  <image id="0" name="frames/a.jpg" width="200" height="100">
    <box label="automobile" occluded="1" xtl="20" ytl="10" xbr="120" ybr="60" z_order="0">
      <attribute name="colour">red</attribute>
    </box>
    <polygon label="person" occluded="0" points="10.00,10.00;50.00,10.00;30.00,90.00" z_order="0"/>
    <polyline label="person" occluded="0" points="0.00,0.00;200.00,100.00" z_order="0"/>
    <points label="person" occluded="0" points="100.00,50.00" z_order="0"/>
  </image>
  <image id="1" name="frames/b.jpg" width="200" height="100"/>
</annotations>
"""


def _prelabels(p: ProjectHandle, server: Server) -> dict[str, Any]:
    """Each job's data, by reference id, read through a worker's claim."""
    worker = make_worker(server, p.account_id)
    found = {}
    while (job := claim(worker, p.project_id)) is not None:
        found[job["reference_id"]] = (job["data"], job["draft"])
        data_of(act(worker, p.project_id, job["job_id"], "skip", {}))
    worker.api.close()
    return found


def test_cvat_images_with_a_class_map_and_rebased_media(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "annotations.xml"
    path.write_text(CVAT)
    p = _project(server, "cvat")
    refused = import_labels(server, p, "cvat", path, extra=("--media-url", "https://cdn.example/x"))
    assert refused.returncode == 1
    assert "automobile (1)" in refused.stderr and "nothing was imported" in refused.stderr
    assert data_of(p.api.get(f"/v1/projects/{p.project_id}/stats"))["total_jobs"] == 0

    extra = (
        "--map",
        "automobile=car",
        "--media-root",
        "frames/",
        "--media-url",
        "https://cdn.example/x",
    )
    done = import_labels(server, p, "cvat", path, extra=extra)
    assert done.returncode == 0, done.stderr
    jobs = _prelabels(p, server)
    data, draft = jobs["a"]
    assert data["image_url"] == "https://cdn.example/x/a.jpg"
    assert (data["image_width"], data["image_height"]) == (200, 100)
    [box] = draft["rectangles"]
    assert box["label"] == "car"
    assert box["coordinates"][0] == {"x": 0.1, "y": 0.1}
    assert box["coordinates"][2] == {"x": 0.6, "y": 0.6}
    assert box["attributes"] == {"colour": {"value": "red"}, "occluded": {"value": True}}
    [polygon] = draft["polygons"]
    assert list(polygon["points"].values()) == [
        {"x": 0.05, "y": 0.1},
        {"x": 0.25, "y": 0.1},
        {"x": 0.15, "y": 0.9},
    ]
    assert draft["lines"][0]["points"] == {"p1": {"x": 0.0, "y": 0.0}, "p2": {"x": 1.0, "y": 1.0}}
    assert draft["landmarks"][0]["points"] == {"p1": {"x": 0.5, "y": 0.5}}
    assert jobs["b"][1]["rectangles"] == []
    p.api.close()


CVAT_VIDEO = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><name>drive-7</name>
    <original_size><width>100</width><height>50</height></original_size>
  </task></meta>
  <track id="3" label="car" source="manual">
    <box frame="0" outside="0" occluded="0" keyframe="1" xtl="10" ytl="5" xbr="50" ybr="25"/>
    <box frame="1" outside="0" occluded="0" keyframe="0" xtl="20" ytl="5" xbr="60" ybr="25"/>
    <box frame="2" outside="1" occluded="0" keyframe="1" xtl="20" ytl="5" xbr="60" ybr="25"/>
  </track>
</annotations>
"""


def test_cvat_tracks_become_a_video_job_with_trackers(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "video.xml"
    path.write_text(CVAT_VIDEO)
    p = make_project(server, "VIDEO", name="cvat video")
    done = import_labels(server, p, "cvat", path, extra=("--media-url", "https://cdn.example/d7"))
    assert done.returncode == 0, done.stderr
    data, draft = _prelabels(p, server)["drive-7"]
    assert [f["src"] for f in data["video_data"]["frames"]] == [
        f"https://cdn.example/d7/frame_00000{i}.jpg" for i in range(3)
    ]
    [tracker] = draft
    assert (tracker["type"], tracker["label"], sorted(tracker["frames"])) == (
        "rectangle",
        "car",
        ["0", "1"],
    )
    assert tracker["frames"]["1"]["coordinates"][0] == {"x": 0.2, "y": 0.1}
    p.api.close()


LABEL_STUDIO = [
    {
        "id": 11,
        "data": {"image": "https://img.example/ls/cat.jpg"},
        "annotations": [
            {"was_cancelled": True, "result": []},
            {
                "result": [
                    {
                        "id": "r1",
                        "type": "rectanglelabels",
                        "from_name": "label",
                        "to_name": "image",
                        "original_width": 400,
                        "original_height": 200,
                        "image_rotation": 0,
                        "value": {
                            "x": 25,
                            "y": 50,
                            "width": 50,
                            "height": 25,
                            "rotation": 0,
                            "rectanglelabels": ["car"],
                        },
                    },
                    {
                        "id": "p1",
                        "type": "polygonlabels",
                        "from_name": "poly",
                        "to_name": "image",
                        "value": {
                            "points": [[10, 10], [90, 10], [50, 80]],
                            "polygonlabels": ["person"],
                        },
                    },
                    {
                        "id": "k1",
                        "type": "keypointlabels",
                        "from_name": "kp",
                        "to_name": "image",
                        "value": {"x": 40, "y": 60, "width": 0.5, "keypointlabels": ["person"]},
                    },
                    {"id": "c1", "type": "choices", "value": {"choices": ["day"]}},
                ]
            },
        ],
    },
    {
        "id": 12,
        "data": {"image": "/data/upload/3/dog.jpg"},
        "predictions": [
            {
                "result": [
                    {
                        "type": "rectanglelabels",
                        "value": {
                            "x": 0,
                            "y": 0,
                            "width": 100,
                            "height": 100,
                            "rectanglelabels": ["car"],
                        },
                    }
                ]
            }
        ],
    },
]


def test_label_studio_json(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(LABEL_STUDIO))
    p = _project(server, "label studio")
    extra = ("--media-root", "/data/upload/", "--media-url", "https://files.example")
    # Absolute URLs stay as they are; paths under --media-root are rebased.
    refused = import_labels(server, p, "labelstudio", path, extra=extra)
    assert refused.returncode == 1 and "not under --media-root" in refused.stderr
    done = import_labels(
        server, p, "labelstudio", path, extra=("--media-url", "https://files.example")
    )
    assert done.returncode == 0, done.stderr
    jobs = _prelabels(p, server)
    data, draft = jobs["cat"]
    assert data["image_url"] == "https://img.example/ls/cat.jpg"
    assert draft["rectangles"][0]["coordinates"][0] == {"x": 0.25, "y": 0.5}
    assert draft["rectangles"][0]["coordinates"][2] == {"x": 0.75, "y": 0.75}
    assert draft["polygons"][0]["points"]["p3"] == {"x": 0.5, "y": 0.8}
    assert draft["landmarks"][0]["points"] == {"p1": {"x": 0.4, "y": 0.6}}
    data, draft = jobs["dog"]
    assert data["image_url"] == "https://files.example/data/upload/3/dog.jpg"
    assert draft["rectangles"][0]["coordinates"][2] == {"x": 1.0, "y": 1.0}
    p.api.close()


def _yolo_zip(path: Path, label_line: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("classes.txt", "car\nperson\n")
        archive.writestr("labels/a.txt", "0 0.5 0.5 0.2 0.2\n")
        archive.writestr("labels/b.txt", f"1 0.5 0.5 0.2 0.2\n{label_line}\n")
    return path


@pytest.mark.parametrize(
    ("fmt", "name", "content", "message"),
    [
        ("coco", "broken.json", b'{"images": [', "broken.json: not JSON"),
        ("coco", "wrong.json", b'{"annotations": []}', "wrong.json: not a COCO document"),
        (
            "coco",
            "orphan.json",
            json.dumps(
                {
                    "images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
                    "categories": [{"id": 1, "name": "car"}],
                    "annotations": [
                        {"id": 1, "image_id": 7, "category_id": 1, "bbox": [0, 0, 1, 1]}
                    ],
                }
            ).encode(),
            "orphan.json: annotations[0]: image_id 7 names no image",
        ),
        (
            "voc",
            "a.xml",
            b"<annotation><size><width>10</width>\n<height>x</height></size></annotation>",
            "<size/height> must be a number",
        ),
        ("voc", "b.xml", b"<annotation>\n<size>\n</annotation>", "b.xml:3: broken XML"),
        (
            "cvat",
            "c.xml",
            b"<annotations><image name='a.jpg' width='10' height='10'>"
            b"<box label='car' xtl='1'/></image></annotations>",
            "ytl=None is not a number",
        ),
        (
            "labelstudio",
            "ls.json",
            b'[{"data": {"text": "no image"}}]',
            "ls.json: [0].data: has no image",
        ),
        ("cvat", "e.xml", b'<!DOCTYPE x [<!ENTITY a "b">]><annotations/>', "DTDs and entities"),
    ],
)
def test_bad_files_name_the_place_and_import_nothing(
    server: Server,
    project: ProjectHandle,
    tmp_path: Path,
    fmt: str,
    name: str,
    content: bytes,
    message: str,
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(LABEL_STUDIO))
    path = tmp_path / name
    path.write_bytes(content)
    files = (good, path) if fmt == "labelstudio" else (path,)
    done = import_labels(server, project, fmt, *files, extra=("--media-url", "https://m.example"))
    assert done.returncode == 1
    assert message in done.stderr, done.stderr
    assert data_of(project.api.get(f"/v1/projects/{project.project_id}/stats"))["total_jobs"] == 0


def test_a_yolo_line_out_of_the_class_list_is_named_with_its_line(
    server: Server, project: ProjectHandle, tmp_path: Path
) -> None:
    path = _yolo_zip(tmp_path / "labels.zip", "5 0.1 0.1 0.1 0.1")
    done = import_labels(server, project, "yolo", path, extra=("--media-url", "https://m.example"))
    assert done.returncode == 1
    assert "labels.zip!labels/b.txt:2: class 5 is not in the class list" in done.stderr
    assert data_of(project.api.get(f"/v1/projects/{project.project_id}/stats"))["total_jobs"] == 0

    good = _yolo_zip(tmp_path / "good.zip", "0 0.1 0.1 0.1 0.1")
    done = import_labels(
        server, project, "yolo", good, extra=("--media-url", "https://m.example/i")
    )
    assert json.loads(done.stdout)["created"] == 2


def test_partial_drops_unknown_classes_and_reports_them(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "annotations.xml"
    path.write_text(CVAT)
    p = _project(server, "partial")
    extra = ("--partial", "--media-root", "frames/", "--media-url", "https://cdn.example")
    done = import_labels(server, p, "cvat", path, extra=extra)
    summary = json.loads(done.stdout)
    assert summary["created"] == 2 and summary["dropped_objects"] == 1
    assert summary["dropped"][0]["label"] == "automobile"
    _, draft = _prelabels(p, server)["a"]
    assert draft["rectangles"] == [] and len(draft["polygons"]) == 1
    p.api.close()


def test_the_schema_is_readable_by_the_projects_key_only(server: Server) -> None:
    p = _project(server, "schema reader")
    other = make_project(server, "IMAGE", name="other")
    got = data_of(p.api.get(f"/v1/projects/{p.project_id}/schema"))
    assert [c["name"] for c in got["schema"]["classes"]] == ["car", "person"]
    refused = other.api.get(f"/v1/projects/{p.project_id}/schema")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "unauthorized"
    p.api.close()
    other.api.close()


@pytest.mark.parametrize("fmt", ["coco", "voc"])
def test_as_completed_jobs_are_completed_with_the_labels_as_results(
    server: Server, labelled: ProjectHandle, tmp_path: Path, fmt: str
) -> None:
    suffix = {"coco": "json", "voc": "zip"}[fmt]
    first = export(server, labelled.project_id, fmt, tmp_path / f"first.{suffix}")
    target = _project(server, f"completed-{fmt}")
    done = import_labels(server, target, fmt, first, extra=("--as-completed",))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"] == 6
    stats = data_of(target.api.get(f"/v1/projects/{target.project_id}/stats"))
    assert (stats["total_jobs"], stats["completed_jobs"]) == (6, 6)
    second = export(server, target.project_id, fmt, tmp_path / f"second.{suffix}")
    if fmt == "coco":
        assert _coco_view(second) == _coco_view(first)
    else:
        ours, theirs = _zip_view(second, "Annotations"), _zip_view(first, "Annotations")
        assert {k: _voc_objects(v) for k, v in ours.items()} == {
            k: _voc_objects(v) for k, v in theirs.items()
        }
    found = data_of(
        target.api.get(f"/v1/projects/{target.project_id}/jobs", params={"reference_id": "img-1"})
    )
    history = data_of(
        target.api.get(f"/v1/projects/{target.project_id}/jobs/{found['job_id']}/history")
    )
    assert [t["action"] for t in history["transitions"]] == ["imported"]
    path = f"/v1/projects/{target.project_id}/jobs/{found['job_id']}/result"
    result = target.api.get(path).json()
    assert len(result["data"]["annotations"]["rectangles"]) == 2
    again = json.loads(import_labels(server, target, fmt, first, extra=("--as-completed",)).stdout)
    assert again["created"] == 0 and again["already_there"] == 6
    target.api.close()


def test_completed_creates_check_each_job_on_its_own(server: Server) -> None:
    p = _project(server, "completed api")
    good = {
        "reference_id": "ok",
        "tag": "default",
        "data": {"image_url": "https://img.example/ok.jpg"},
        "annotations": {"rectangles": [_box("a", "car", 1, 1, 10, 10)]},
    }
    jobs = [
        good,
        {**good, "reference_id": "no-annotations"},
        {
            **good,
            "reference_id": "bad-class",
            "annotations": {"rectangles": [_box("a", "bus", 1, 1, 2, 2)]},
        },
        {**good, "reference_id": "bad-data", "data": {}},
    ]
    del jobs[1]["annotations"]
    reply = data_of(p.api.post(f"/v1/projects/{p.project_id}/jobs/completed", json={"jobs": jobs}))
    results = reply["results"]
    assert results[0]["created"] is True
    assert results[1]["error"]["code"] == "GE_0002"
    assert results[2]["error"]["code"] == "GE_0001" and "bus" in results[2]["error"]["message"]
    assert results[3]["error"]["code"] == "FS_0004"
    stats = data_of(p.api.get(f"/v1/projects/{p.project_id}/stats"))
    assert (stats["total_jobs"], stats["completed_jobs"], stats["annotations"]) == (1, 1, 1)
    p.api.close()


def test_coco_rle_masks_come_back_as_the_same_masks(server: Server, tmp_path: Path) -> None:
    from tests.exports.test_coco_masks import COLOURS, mask_png
    from tests.exports.test_coco_masks import H as MH
    from tests.exports.test_coco_masks import W as MW

    schema = {"classes": [{"name": "car"}, {"name": "road"}]}
    source = make_project(server, "SEGMENTATION", name="masks out")
    set_schema(server, source.project_id, schema)
    png, _ = mask_png()
    bodies = [
        {
            "reference_id": f"seg-{i}",
            "tag": "default",
            "data": {
                "image_url": f"https://img.example/s{i}.png",
                "image_width": MW,
                "image_height": MH,
            },
        }
        for i in range(2)
    ]
    data_of(source.api.post(f"/v1/projects/{source.project_id}/jobs/bulk", json={"jobs": bodies}))
    mask = {"_id": "m1", "frame_id": "0", "legend": COLOURS, "png": png}
    _complete_all(server, source, lambda job: {"rectangles": [], "masks": [mask]})
    first = export(server, source.project_id, "coco", tmp_path / "first.json")
    assert any(
        isinstance(a["segmentation"], dict) for a in json.loads(first.read_text())["annotations"]
    )

    target = make_project(server, "SEGMENTATION", name="masks in")
    set_schema(server, target.project_id, schema)
    refused = import_labels(server, target, "coco", first)
    assert refused.returncode == 1 and "masks come in with --as-completed only" in refused.stderr
    done = import_labels(server, target, "coco", first, extra=("--as-completed",))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"] == 2
    second = export(server, target.project_id, "coco", tmp_path / "second.json")
    assert _coco_view(second) == _coco_view(first)
    source.api.close()
    target.api.close()


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_rle_strings_decode_as_pycocotools_encodes() -> None:
    import numpy as np
    from pycocotools import mask as coco_mask

    from labelyard.importers.coco import _colour, rle_counts

    rng = np.random.default_rng(7)
    bits = np.asfortranarray((rng.random((23, 31)) > 0.6).astype(np.uint8))
    encoded = coco_mask.encode(bits)
    counts = rle_counts(encoded["counts"].decode(), "x")
    flat = np.concatenate([np.full(n, i % 2, dtype=np.uint8) for i, n in enumerate(counts)])
    assert (bits == flat.reshape(31, 23).T).all()
    assert len({_colour(i) for i in range(1000)}) == 1000


def test_label_studio_brush_masks_come_in_as_one_mask_with_an_instance_each(
    server: Server, tmp_path: Path
) -> None:
    import io

    from PIL import Image

    from tests.importers.test_brush import disc, encode, rgba

    width, height = 20, 12
    car = disc(width, height, 6.0, 5.0, 4.0)
    road = [[1 if y >= 10 else 0 for _ in range(width)] for y in range(height)]

    def brushed(n: int, label: str, mask: list[list[int]]) -> dict[str, Any]:
        return {
            "id": f"b{n}",
            "type": "brushlabels",
            "from_name": "tag",
            "to_name": "image",
            "original_width": width,
            "original_height": height,
            "value": {
                "format": "rle",
                "rle": encode(rgba(mask, (9, 9, 9))),
                "brushlabels": [label],
            },
        }

    task = {
        "id": 1,
        "data": {"image": "https://img.example/ls/street.png"},
        "annotations": [{"result": [brushed(1, "car", car), brushed(2, "road", road)]}],
    }
    path = tmp_path / "brush.json"
    path.write_text(json.dumps([task]))
    p = make_project(server, "SEGMENTATION", name="brushes")
    set_schema(server, p.project_id, {"classes": [{"name": "car"}, {"name": "road"}]})
    done = import_labels(server, p, "labelstudio", path, extra=("--as-completed",))
    assert done.returncode == 0, done.stderr
    found = data_of(
        p.api.get(f"/v1/projects/{p.project_id}/jobs", params={"reference_id": "street"})
    )
    result = p.api.get(f"/v1/projects/{p.project_id}/jobs/{found['job_id']}/result").json()
    (entry,) = result["data"]["annotation_data"]["annotations"]
    colour_of = {label: colour for colour, label in entry["legend"].items()}
    assert set(colour_of) == {"car # 1", "road # 1"}
    link = p.api.get("/v1/attachments", params={"url": entry["url"]})
    png = httpx.get(link.headers["location"]).content
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    for y in range(height):
        for x in range(width):
            r, g, b, a = image.getpixel((x, y))
            painted = f"#{r:02x}{g:02x}{b:02x}" if a else None
            expected = (
                colour_of["road # 1"] if road[y][x] else colour_of["car # 1"] if car[y][x] else None
            )
            assert painted == expected, (x, y)
    p.api.close()
