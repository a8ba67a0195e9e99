"""Jobs to export, with known annotations, and what each format's spec says they must become."""

from __future__ import annotations

import asyncio
import csv
import io
import warnings
import zipfile
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml
from pycocotools.coco import COCO

from labelyard.core.model import Base
from labelyard.exports.classes import Classes
from labelyard.exports.geometry import polygon_area, polygon_points, rectangle_box
from labelyard.exports.runner import Outcome, Page, open_writer, write_export
from labelyard.exports.sizes import ImageSize, ImageSizer, size_in_data
from labelyard.exports.spec import Format
from labelyard.exports.writer import ExportJob

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def rect(
    _id: str, label: str, x0: float, y0: float, x1: float, y1: float, **attributes: Any
) -> Any:
    """A rectangle object as the worker API takes it."""
    corners = [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]
    return {
        "_id": _id,
        "label": label,
        "attributes": {k: {"value": v} for k, v in attributes.items()},
        "coordinates": corners,
    }


def polygon(_id: str, label: str, *points: tuple[float, float]) -> Any:
    """A polygon object as the worker API takes it."""
    return {
        "_id": _id,
        "label": label,
        "attributes": {},
        "points": {f"p{i + 1}": {"x": x, "y": y} for i, (x, y) in enumerate(points)},
    }


def landmark(_id: str, label: str) -> Any:
    return {"_id": _id, "label": label, "attributes": {}, "points": {"p1": {"x": 0.5, "y": 0.5}}}


@dataclass(frozen=True)
class Expected:
    """A job of an export and what the file must say about it."""

    job_id: str
    reference_id: str
    size: ImageSize | None
    annotations: dict[str, Any]


def sample_jobs() -> list[ExportJob]:
    """Jobs with boxes, polygons, attributes, odd reference ids, and one without a size."""
    data = {"image_url": "https://img.example/a.jpg", "image_width": 640, "image_height": 480}
    return [
        ExportJob(
            job_id="00000000-0000-4000-8000-000000000001",
            reference_id="street/1",
            batch_id="b",
            status="completed",
            data=data,
            annotations={
                "rectangles": [
                    rect("r1", "car", 0.1, 0.2, 0.4, 0.5, color="red", difficult=True),
                    rect("r2", "person", 0.0, 0.0, 1.0, 1.0),
                ],
                "polygons": [polygon("g1", "road", (0.1, 0.9), (0.9, 0.9), (0.5, 0.6))],
                "landmarks": [landmark("l1", "person")],
            },
        ),
        ExportJob(
            job_id="00000000-0000-4000-8000-000000000002",
            reference_id="Street_1",
            batch_id="b",
            status="completed",
            data={
                "image_url": "https://img.example/b.png",
                "metadata": {"image_width": 100, "image_height": 50},
            },
            annotations={"rectangles": [rect("r1", "bike", 0.25, 0.5, 0.75, 1.0, tags=["a"])]},
        ),
        ExportJob(
            job_id="00000000-0000-4000-8000-000000000003",
            reference_id="no-boxes",
            batch_id="b",
            status="completed",
            data={"image_url": "https://img.example/c", "image_width": 10, "image_height": 10},
            annotations={"rectangles": [], "polygons": []},
        ),
        ExportJob(
            job_id="00000000-0000-4000-8000-000000000004",
            reference_id="unsized",
            batch_id="b",
            status="completed",
            data={"image_url": "s3://bucket/d.jpg"},
            annotations={"rectangles": [rect("r1", "car", 0.1, 0.1, 0.2, 0.2)]},
        ),
    ]


def expected_of(jobs: Sequence[ExportJob]) -> dict[str, Expected]:
    """What each job must become, by job id (size None: the job is skipped where sizes count)."""
    return {
        job.job_id: Expected(
            job.job_id, job.reference_id, size_in_data(job.data), job.annotations or {}
        )
        for job in jobs
    }


async def _pages(jobs: Sequence[ExportJob], size: int) -> AsyncIterator[Page]:
    for start in range(0, len(jobs), size):
        page = list(jobs[start : start + size])
        yield Page(len(page), iter(page))


def export(
    fmt: Format, path: Path, jobs: Sequence[ExportJob], *, schema: Sequence[str] = ("car",)
) -> tuple[Outcome, list[tuple[int, int]]]:
    """Write ``jobs`` as ``fmt`` at ``path``; the outcome and the progress calls."""
    calls: list[tuple[int, int]] = []

    async def progress(done: int, skipped: int) -> None:
        calls.append((done, skipped))

    async def run() -> Outcome:
        writer = open_writer(
            fmt, path, base=Base.IMAGE, classes=Classes(schema), title="test", now=NOW
        )
        sizer = ImageSizer(None, local_files=False)
        return await write_export(_pages(jobs, 3), writer, sizer, on_progress=progress)

    return asyncio.run(run()), calls


# --- what the specs say ------------------------------------------------------------------------


def _pixel_box(item: Any, size: ImageSize) -> list[float]:
    box = rectangle_box(item)
    assert box is not None
    x0, y0, x1, y1 = box
    return [x0 * size.width, y0 * size.height, (x1 - x0) * size.width, (y1 - y0) * size.height]


def check_coco(path: Path, expected: Mapping[str, Expected], categories: Sequence[str]) -> None:
    """The file loads with pycocotools; its images, boxes and polygons equal the results."""
    coco = COCO(str(path))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == list(categories)
    sized = {e.job_id: e for e in expected.values() if e.size is not None}
    images = coco.loadImgs(coco.getImgIds())
    assert sorted(i["labelyard_job_id"] for i in images) == sorted(sized)
    file_names = [i["file_name"] for i in images]
    assert len({n.casefold() for n in file_names}) == len(file_names)
    for image in images:
        job = sized[image["labelyard_job_id"]]
        assert job.size is not None
        assert (image["width"], image["height"]) == (job.size.width, job.size.height)
        assert image["reference_id"] == job.reference_id
        anns = {a["labelyard_id"]: a for a in coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))}
        rects = job.annotations.get("rectangles") or []
        polys = job.annotations.get("polygons") or []
        assert set(anns) == {o["_id"] for o in rects + polys}
        for item in rects:
            ann = anns[item["_id"]]
            assert ann["bbox"] == pytest.approx(_pixel_box(item, job.size), abs=0.01)
            assert coco.loadCats(ann["category_id"])[0]["name"] == item["label"]
            assert ann["iscrowd"] == 0 and ann["area"] == pytest.approx(
                ann["bbox"][2] * ann["bbox"][3], abs=0.05
            )
            assert ann["attributes"] == {k: v["value"] for k, v in item["attributes"].items()}
            with warnings.catch_warnings():  # pycocotools' own, under numpy 2
                warnings.simplefilter("ignore", DeprecationWarning)
                mask = coco.annToMask(ann)
            assert mask.shape == (job.size.height, job.size.width)
            assert abs(int(mask.sum()) - ann["area"]) <= 2 * (ann["bbox"][2] + ann["bbox"][3]) + 4
        for item in polys:
            ann = anns[item["_id"]]
            points = polygon_points(item)
            assert points is not None
            flat = [v for x, y in points for v in (x * job.size.width, y * job.size.height)]
            assert ann["segmentation"][0] == pytest.approx(flat, abs=0.01)
            pixel_points = [(x * job.size.width, y * job.size.height) for x, y in points]
            assert ann["area"] == pytest.approx(polygon_area(pixel_points), abs=0.01)
            assert coco.loadCats(ann["category_id"])[0]["name"] == item["label"]


def _index(archive: zipfile.ZipFile) -> dict[str, str]:
    """images.csv: job id → file stem."""
    rows = list(csv.DictReader(io.StringIO(archive.read("images.csv").decode())))
    return {row["job_id"]: row["file_name"].rsplit(".", 1)[0] for row in rows}


def check_yolo(path: Path, expected: Mapping[str, Expected], classes: Sequence[str]) -> None:
    """One label file per job, ``class cx cy w h`` normalised, classes listed in order."""
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert archive.read("classes.txt").decode().splitlines() == list(classes)
        dataset = yaml.safe_load(archive.read("data.yaml"))
        assert dataset["nc"] == len(classes)
        assert dataset["names"] == dict(enumerate(classes))
        names = _index(archive)
        assert set(names) == set(expected)
        labels = [n for n in archive.namelist() if n.startswith("labels/")]
        assert sorted(labels) == sorted(f"labels/{n}.txt" for n in names.values())
        for job in expected.values():
            lines = archive.read(f"labels/{names[job.job_id]}.txt").decode().splitlines()
            rects = job.annotations.get("rectangles") or []
            assert len(lines) == len(rects)
            for line, item in zip(lines, rects, strict=True):
                fields = line.split(" ")
                assert len(fields) == 5
                assert classes[int(fields[0])] == item["label"]
                values = [float(v) for v in fields[1:]]
                assert all(0 <= v <= 1 for v in values)
                x0, y0, x1, y1 = rectangle_box(item) or (0, 0, 0, 0)
                assert values == pytest.approx(
                    [(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], abs=1e-6
                )


def check_voc(path: Path, expected: Mapping[str, Expected], classes: Sequence[str]) -> None:
    """One ``<annotation>`` per sized job, boxes as 1-based inclusive integer pixels."""
    sized = {e.job_id: e for e in expected.values() if e.size is not None}
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert archive.read("labels.txt").decode().splitlines() == list(classes)
        names = _index(archive)
        assert set(names) == set(sized)
        image_set = archive.read("ImageSets/Main/default.txt").decode().splitlines()
        assert sorted(image_set) == sorted(names.values())
        for job in sized.values():
            assert job.size is not None
            root = ElementTree.fromstring(archive.read(f"Annotations/{names[job.job_id]}.xml"))
            assert root.tag == "annotation"
            assert (root.findtext("filename") or "").startswith(names[job.job_id] + ".")
            assert int(root.findtext("size/width") or 0) == job.size.width
            assert int(root.findtext("size/height") or 0) == job.size.height
            assert int(root.findtext("size/depth") or 0) == 3
            assert root.findtext("segmented") == "0"
            objects = root.findall("object")
            rects = job.annotations.get("rectangles") or []
            assert len(objects) == len(rects)
            for element, item in zip(objects, rects, strict=True):
                assert element.findtext("name") == item["label"]
                assert element.findtext("pose") == "Unspecified"
                difficult = item["attributes"].get("difficult", {}).get("value") is True
                assert element.findtext("difficult") == ("1" if difficult else "0")
                assert element.findtext("truncated") in ("0", "1")
                box = [
                    int(element.findtext(f"bndbox/{t}") or -1)
                    for t in ("xmin", "ymin", "xmax", "ymax")
                ]
                xmin, ymin, xmax, ymax = box
                assert 1 <= xmin <= xmax <= job.size.width
                assert 1 <= ymin <= ymax <= job.size.height
                x, y, w, h = _pixel_box(item, job.size)
                assert [xmin - 1, ymin - 1, xmax, ymax] == pytest.approx(
                    [x, y, x + w, y + h], abs=1
                )
