"""COCO export of SEGMENTATION masks: each legend entry becomes an annotation whose RLE
pycocotools decodes back to exactly that entry's pixels."""

from __future__ import annotations

import base64
import io
import random
from pathlib import Path

import numpy as np
import orjson
import pytest
from PIL import Image, ImageDraw
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from labelyard.exports.coco import rle_string
from labelyard.exports.spec import Format
from labelyard.exports.writer import ExportJob
from tests.exports.samples import export

W, H = 97, 61  # odd sizes: columns and rows must not be mixed up
COLOURS = {"#ff0000": "car # 1", "#00ff00": "car # 2", "#0000ff": "road"}


def mask_png() -> tuple[str, dict[str, np.ndarray]]:
    """A mask with two car instances and a road; the expected boolean array of each entry."""
    image = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse([5, 5, 40, 30], fill=(255, 0, 0, 255))
    draw.polygon([(50, 2), (95, 10), (70, 40)], fill=(0, 255, 0, 255))
    draw.rectangle([0, 45, 96, 60], fill=(0, 0, 255, 255))
    draw.point([(96, 0), (0, 60)], fill=(0, 0, 255, 255))  # corners: runs at both ends
    pixels = np.array(image)
    expected = {
        entry: np.all(pixels == [*bytes.fromhex(colour[1:]), 255], axis=2)
        for colour, entry in COLOURS.items()
    }
    out = io.BytesIO()
    image.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode(), expected


# pycocotools' decoder itself trips numpy 2's copy-keyword deprecation.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_masks_are_written_as_rle_that_pycocotools_decodes(tmp_path: Path) -> None:
    png, expected = mask_png()
    job = ExportJob(
        job_id="00000000-0000-4000-8000-000000000009",
        reference_id="seg",
        batch_id="b",
        status="completed",
        data={"image_url": "https://img.example/s.png", "image_width": W, "image_height": H},
        annotations={
            "rectangles": [],
            "masks": [{"_id": "m1", "frame_id": "0", "legend": COLOURS, "png": png}],
        },
    )
    path = tmp_path / "out.json"
    outcome, _ = export(Format.COCO, path, [job], schema=("car", "road"))
    assert outcome.exported_jobs == 1
    coco = COCO(str(path))
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == 3
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    document = orjson.loads(path.read_bytes())
    for ann, raw in zip(anns, document["annotations"], strict=True):
        entry = raw["labelyard_id"].split(":", 1)[1]
        decoded = coco.annToMask(ann).astype(bool)
        assert decoded.shape == (H, W)
        assert np.array_equal(decoded, expected[entry]), entry
        assert names[ann["category_id"]] == entry.split(" # ")[0]
        assert ann["area"] == expected[entry].sum()
        assert ann["iscrowd"] == (0 if " # " in entry else 1)
        ys, xs = np.nonzero(expected[entry])
        assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        assert coco_mask.toBbox(ann["segmentation"]).tolist() == ann["bbox"]


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_rle_strings_equal_pycocotools_encoding() -> None:
    rng = random.Random(7)
    for _ in range(50):
        h, w = rng.randint(1, 30), rng.randint(1, 30)
        array = np.array([[rng.random() < 0.3 for _ in range(w)] for _ in range(h)], dtype=np.uint8)
        theirs = coco_mask.encode(np.asfortranarray(array))
        flat = array.flatten(order="F").tolist()
        counts, current, run = [], 0, 0
        for v in flat:
            if v == current:
                run += 1
            else:
                counts.append(run)
                current, run = v, 1
        counts.append(run)
        assert rle_string(counts) == theirs["counts"].decode()
