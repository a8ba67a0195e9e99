"""Label Studio files made by Label Studio's own converter (the ``label-studio-converter``
package from PyPI), not by hand: its COCO → Label Studio conversion and its brush RLE encoder.
labelyard must read what it writes as it reads the same labels from the source format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from label_studio_converter import brush as ls_brush
from label_studio_converter.imports.coco import convert_coco_to_ls

from labelyard.importers import brush, coco, labelstudio

CATEGORIES = [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}, {"id": 7, "name": "sign"}]


def _coco_document() -> dict[str, Any]:
    """Three images of different sizes, boxes of every class, a polygon with its box."""
    images = [
        {"id": 1, "file_name": "images/street-0001.jpg", "width": 1920, "height": 1080},
        {"id": 2, "file_name": "images/street-0002.jpg", "width": 640, "height": 480},
        {"id": 5, "file_name": "images/yard.png", "width": 1000, "height": 1000},
    ]
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [100, 200, 300, 150]},
        {"id": 2, "image_id": 1, "category_id": 2, "bbox": [1500.5, 10, 120, 400.25]},
        {"id": 3, "image_id": 2, "category_id": 7, "bbox": [0, 0, 640, 480]},
        {
            "id": 4,
            "image_id": 5,
            "category_id": 2,
            "bbox": [100, 100, 400, 300],
            "segmentation": [[100, 100, 500, 100, 300, 400]],
        },
    ]
    return {"images": images, "annotations": annotations, "categories": CATEGORIES}


def _corners(rect: dict[str, Any]) -> tuple[float, float, float, float]:
    xs = [p["x"] for p in rect["coordinates"]]
    ys = [p["y"] for p in rect["coordinates"]]
    return min(xs), min(ys), max(xs), max(ys)


def _points(polygon: dict[str, Any]) -> list[tuple[float, float]]:
    points = polygon["points"]
    return [(points[n]["x"], points[n]["y"]) for n in sorted(points, key=lambda n: int(n[1:]))]


def test_a_coco_file_converted_by_label_studio_imports_with_the_same_labels(
    tmp_path: Path,
) -> None:
    source = tmp_path / "labels.coco.json"
    source.write_text(json.dumps(_coco_document()))
    converted = tmp_path / "tasks.json"
    # The converter's default image root is Label Studio's local storage: /data/local-files/?d=
    convert_coco_to_ls(str(source), str(converted))
    tasks = json.loads(converted.read_text())
    assert tasks[0]["data"]["image"].startswith("/data/local-files/?d=")

    from_coco = {i.reference_id: i for i in coco.parse({"labels.coco.json": source.read_bytes()})}
    from_ls = {i.reference_id: i for i in labelstudio.parse({"tasks.json": converted.read_bytes()})}
    assert set(from_ls) == set(from_coco) == {"street-0001", "street-0002", "yard"}
    for reference, item in from_ls.items():
        assert item.location == from_coco[reference].location  # images/…: what --media-root rebases
        # The converter writes a box for every COCO annotation (polygons too): the boxes match
        # COCO's bboxes, the polygons the ones labelyard reads from COCO.
        expected_boxes = sorted(
            (a["label"], _corners(a))
            for a in from_coco[reference].annotations["rectangles"]
            + [
                {"label": p["label"], "coordinates": [{"x": x, "y": y} for x, y in _points(p)]}
                for p in from_coco[reference].annotations["polygons"]
            ]
        )
        boxes = sorted((r["label"], _corners(r)) for r in item.annotations["rectangles"])
        assert [b[0] for b in boxes] == [b[0] for b in expected_boxes]
        for (_, got), (_, want) in zip(boxes, expected_boxes, strict=True):
            assert got == pytest.approx(want, abs=1e-9)
        got_polygons = [(p["label"], _points(p)) for p in item.annotations["polygons"]]
        want_polygons = [
            (p["label"], _points(p)) for p in from_coco[reference].annotations["polygons"]
        ]
        assert len(got_polygons) == len(want_polygons)
        for (got_label, got_points), (want_label, want_points) in zip(
            got_polygons, want_polygons, strict=True
        ):
            assert got_label == want_label
            assert [c for p in got_points for c in p] == pytest.approx(
                [c for p in want_points for c in p], abs=1e-9
            )
    assert from_ls["yard"].annotations["polygons"][0]["label"] == "person"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_brush_masks_encoded_by_label_studio_decode_to_the_same_pixels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    height, width = 37, 53
    mask = np.zeros((height, width), dtype=np.uint8)
    for _ in range(4):  # a few filled blocks and some scattered pixels: runs and literals
        y, x = rng.integers(0, height - 5), rng.integers(0, width - 5)
        mask[y : y + rng.integers(2, 12), x : x + rng.integers(2, 20)] = 255
    mask[rng.random((height, width)) < 0.05] = 255
    rle = [int(v) for v in ls_brush.mask2rle(mask)]
    # The converter's own decoder reads back what it wrote (its layout: RGBA, row by row)...
    theirs = ls_brush.decode_rle(rle).reshape(height, width, 4)[:, :, 3]
    assert np.array_equal(theirs > 0, mask > 0)
    # ...and labelyard's decoder gives the same mask.
    ours = np.asarray(brush.stencil(rle, width, height))
    assert ours.shape == (height, width)
    assert np.array_equal(ours > 0, mask > 0)
