"""Each format's writer, checked against its spec (pycocotools for COCO), and NDJSON."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree

import orjson
import pytest

from labelyard.core.annotations import result_document
from labelyard.core.model import Base
from labelyard.exports.spec import Format
from tests.exports.samples import (
    check_coco,
    check_voc,
    check_yolo,
    expected_of,
    export,
    rect,
    sample_jobs,
)

# The schema's class first (car), then labels as first seen: person, road, bike.
COCO_CLASSES = ["car", "person", "road", "bike"]
BOX_CLASSES = ["car", "person", "bike"]


def test_coco_loads_with_pycocotools_and_its_boxes_equal_the_annotations(tmp_path: Path) -> None:
    jobs = sample_jobs()
    path = tmp_path / "out.json"
    outcome, _ = export(Format.COCO, path, jobs)
    check_coco(path, expected_of(jobs), COCO_CLASSES)
    assert outcome.exported_jobs == 3 and outcome.skipped_jobs == 1
    assert outcome.report.to_json()["skipped"] == [
        {
            "job_id": jobs[3].job_id,
            "reference_id": "unsized",
            "reason": "no image_width/image_height in data, and s3:// images are not read",
        }
    ]
    assert not [p for p in tmp_path.iterdir() if p != path]  # the spool file is gone


def test_yolo_needs_no_pixel_sizes_and_follows_its_spec(tmp_path: Path) -> None:
    jobs = sample_jobs()
    path = tmp_path / "out.zip"
    outcome, _ = export(Format.YOLO, path, jobs)
    assert outcome.exported_jobs == 4 and outcome.skipped_jobs == 0
    check_yolo(path, expected_of(jobs), BOX_CLASSES)


def test_voc_follows_its_spec(tmp_path: Path) -> None:
    jobs = sample_jobs()
    path = tmp_path / "out.zip"
    outcome, _ = export(Format.VOC, path, jobs)
    assert outcome.exported_jobs == 3 and outcome.skipped_jobs == 1
    check_voc(path, expected_of(jobs), BOX_CLASSES)


def test_ndjson_has_a_line_per_job_with_its_result_document(tmp_path: Path) -> None:
    jobs = sample_jobs()
    path = tmp_path / "out.ndjson"
    outcome, calls = export(Format.NDJSON, path, jobs)
    assert outcome.exported_jobs == 4
    assert calls == [(3, 0), (4, 0)]  # progress after each page
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [line["job_id"] for line in lines] == [job.job_id for job in jobs]
    for line, job in zip(lines, jobs, strict=True):
        assert line == {
            "job_id": job.job_id,
            "reference_id": job.reference_id,
            "batch_id": job.batch_id,
            "status": job.status,
            "data": job.data,
            "result": result_document(Base.IMAGE, job.data, job.annotations),
        }


def test_a_failed_export_leaves_no_spool_behind(tmp_path: Path) -> None:
    jobs = sample_jobs()
    broken = [*jobs[:2], jobs[2]._replace(annotations={"rectangles": 5})]
    path = tmp_path / "out.zip"
    with pytest.raises(TypeError):
        export(Format.YOLO, path, broken)
    assert [p.name for p in tmp_path.iterdir()] == ["out.zip"]  # the caller deletes it


def test_voc_escapes_what_jobs_put_in_its_xml(tmp_path: Path) -> None:
    odd = sample_jobs()[0]._replace(
        reference_id="a&b",
        data={"image_url": "https://x/?a=1&b=<2>", "image_width": 10, "image_height": 10},
        annotations={"rectangles": [rect("r1", "R&D <x>\x01", 0, 0, 0.5, 0.5, note='5 > 3 & "q"')]},
    )
    path = tmp_path / "out.zip"
    export(Format.VOC, path, [odd])
    with zipfile.ZipFile(path) as archive:
        root = ElementTree.fromstring(archive.read("Annotations/a_b.xml"))
    assert root.findtext("path") == "https://x/?a=1&b=<2>"
    assert root.findtext("object/name") == "R&D <x>"
    assert root.findtext("object/attributes/attribute/value") == '5 > 3 & "q"'
