"""Label Studio JSON export: a list of tasks ``{"id", "data": {"image": url}, "annotations":
[{"result": [...]}], "predictions": [...]}``.

The first annotation that is not cancelled is read, else the first prediction. Results:
``rectanglelabels`` (``x``, ``y``, ``width``, ``height`` in percent; rotated boxes are
refused), ``polygonlabels`` (``points`` in percent), ``keypointlabels`` (a landmark),
``brushlabels`` (``format: "rle"``, Label Studio's bit-packed RLE, see ``importers.brush``, of
an ``original_width`` x ``original_height`` mask): a task's brushes are painted into one RGBA
mask PNG, an instance each (``"<label> # <n>"``, numbered per label), as COCO's RLEs are. The
reference id is ``data.reference_id`` when there is one, else the image's file name without
extension; the location ``data.image`` (Label Studio's ``/data/upload/...`` paths are rebased
with ``--media-root`` / ``--media-url``). An image of Label Studio's local storage,
``/data/local-files/?d=<path>``, is the file ``<path>``: its name is the reference id and the
path is what ``--media-root`` / ``--media-url`` rebase.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from labelyard.importers import FormatError, Item, brush, rectangle, shape
from labelyard.importers.coco import Canvas


def parse(files: Mapping[str, bytes]) -> list[Item]:
    """The tasks of the Label Studio exports in ``files``."""
    items: list[Item] = []
    for name, raw in files.items():
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise FormatError(name, f"not JSON ({exc})") from None
        tasks = document if isinstance(document, list) else [document]
        for n, task in enumerate(tasks):
            items.append(_task(task, f"{name}: [{n}]"))
    return items


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormatError(where, "must be a number")
    return float(value)


def _results(task: dict[str, Any], where: str) -> list[Any]:
    for key in ("annotations", "predictions"):
        for entry in task.get(key) or []:
            if isinstance(entry, dict) and not entry.get("was_cancelled"):
                result = entry.get("result")
                if not isinstance(result, list):
                    raise FormatError(f"{where}.{key}", "result must be a list")
                return result
    return []


def _task(task: Any, where: str) -> Item:
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise FormatError(where, "a task needs a data object")
    data = task["data"]
    image = data.get("image") or data.get("img")
    if not isinstance(image, str) or not image:
        raise FormatError(f"{where}.data", "has no image")
    image = _local_file(image)
    stem = PurePosixPath(urlsplit(image).path).stem
    reference = data.get("reference_id") or stem or str(task.get("id"))
    item = Item(reference_id=str(reference), location=image, where=where)
    canvas: Canvas | None = None
    for n, result in enumerate(_results(task, where)):
        at = f"{where}.result[{n}]"
        if not isinstance(result, dict) or not isinstance(result.get("value"), dict):
            raise FormatError(at, "needs a value object")
        kind, value = result.get("type"), result["value"]
        object_id = str(result.get("id") or f"ls{n}")
        labels = value.get(str(kind)) if isinstance(kind, str) else None
        if kind not in ("rectanglelabels", "polygonlabels", "keypointlabels", "brushlabels"):
            continue  # choices, text areas...: no geometry
        if not isinstance(labels, list) or not labels:
            raise FormatError(at, f"value.{kind} must name a label")
        label = str(labels[0])
        if kind == "brushlabels":
            width, height = result.get("original_width"), result.get("original_height")
            if type(width) is not int or type(height) is not int or width < 1 or height < 1:
                raise FormatError(at, "a brush mask needs original_width and original_height")
            if canvas is None:
                canvas = Canvas(item, width, height)
            elif canvas.image.size != (width, height):
                raise FormatError(at, "the task's brush masks differ in size")
            if value.get("format", "rle") != "rle" or not isinstance(value.get("rle"), list):
                raise FormatError(f"{at}.value", "a brush mask needs format rle and an rle list")
            try:
                painted = brush.stencil(value["rle"], width, height)
            except brush.BrushError as exc:
                raise FormatError(f"{at}.value.rle", str(exc)) from None
            canvas.paint_stencil(painted, label, 0, {"id": object_id}, at)
        elif kind == "rectanglelabels":
            if value.get("rotation"):
                raise FormatError(at, "a rotated rectangle has no labelyard equivalent")
            x, y = (
                _number(value.get("x"), f"{at}.x") / 100,
                _number(value.get("y"), f"{at}.y") / 100,
            )
            w = _number(value.get("width"), f"{at}.width") / 100
            h = _number(value.get("height"), f"{at}.height") / 100
            item.annotations["rectangles"].append(rectangle(object_id, label, (x, y, x + w, y + h)))
        elif kind == "polygonlabels":
            raw = value.get("points")
            if not isinstance(raw, list) or len(raw) < 3:
                raise FormatError(f"{at}.points", "a polygon needs 3 points or more")
            points = [
                (_number(p[0], f"{at}.points") / 100, _number(p[1], f"{at}.points") / 100)
                if isinstance(p, list) and len(p) == 2
                else _bad(f"{at}.points")
                for p in raw
            ]
            item.annotations["polygons"].append(shape(object_id, label, points, ring=True))
        else:
            x, y = (
                _number(value.get("x"), f"{at}.x") / 100,
                _number(value.get("y"), f"{at}.y") / 100,
            )
            item.annotations["landmarks"].append(shape(object_id, label, [(x, y)]))
    if canvas is not None:
        canvas.finish()
    return item


def _local_file(image: str) -> str:
    """The file of a Label Studio local-storage link (``/data/local-files/?d=<path>``), or
    ``image`` itself."""
    parts = urlsplit(image)
    if parts.path.rstrip("/").endswith("/data/local-files"):
        named = parse_qs(parts.query).get("d")
        if named and named[0]:
            return named[0].lstrip("/")  # relative to the storage's document root
    return image


def _bad(where: str) -> tuple[float, float]:
    raise FormatError(where, "points are [x, y] pairs")
