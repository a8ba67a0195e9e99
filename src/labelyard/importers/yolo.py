"""YOLO (Darknet / Ultralytics) labels: ``class x_center y_center width height`` a line,
normalised, in a ``.txt`` per image; or a segment ``class x1 y1 x2 y2 ...`` (a polygon).

Class names come from ``classes.txt`` (a name a line) or ``data.yaml`` (``names``, a list or
``{id: name}``). Each label file's image is found in ``images.csv`` (labelyard's export: file
name, URL, job id, reference id) when there is one, else it is the label file's name with
``.jpg`` to rebase with ``--media-url``; the reference id is the ``images.csv`` one or the
file's name without extension. Files come loose or from a zip (``labels/...``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

import yaml

from labelyard.importers import FormatError, Item, entry_name, rectangle, shape


def _names(files: Mapping[str, bytes]) -> list[str] | None:
    for name, raw in files.items():
        base = entry_name(name)
        if base == "classes.txt":
            return [line.strip() for line in raw.decode("utf-8").splitlines() if line.strip()]
        if base in ("data.yaml", "dataset.yaml"):
            try:
                document = yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise FormatError(name, f"not YAML ({exc})") from None
            names = document.get("names") if isinstance(document, dict) else None
            if isinstance(names, list):
                return [str(n) for n in names]
            if isinstance(names, dict):
                return [str(names[k]) for k in sorted(names, key=int)]
            raise FormatError(name, "no names list")
    return None


def _index(files: Mapping[str, bytes]) -> dict[str, tuple[str, str]]:
    """``images.csv``: label file stem → (image URL, reference id)."""
    for name, raw in files.items():
        if entry_name(name) == "images.csv":
            rows = csv.DictReader(io.StringIO(raw.decode("utf-8")))
            found = {}
            for row in rows:
                stem = PurePosixPath(row.get("file_name") or "").stem
                found[stem] = (
                    row.get("image_url") or row.get("url") or row.get("file_name") or "",
                    row.get("reference_id") or stem,
                )
            return found
    return {}


def parse(files: Mapping[str, bytes]) -> list[Item]:
    """The images of the label files in ``files`` (with their class list)."""
    names = _names(files)
    if names is None:
        raise FormatError("classes", "no classes.txt or data.yaml among the files")
    index = _index(files)
    items = []
    for name, raw in files.items():
        path = PurePosixPath(name)
        if path.suffix != ".txt" or entry_name(name) == "classes.txt":
            continue
        url, reference = index.get(path.stem, (f"{path.stem}.jpg", path.stem))
        item = Item(reference_id=reference, location=url, where=name)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError(name, "not UTF-8 text") from None
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                _line(item, line, names, f"{name}:{number}", number)
        items.append(item)
    return items


def _line(item: Item, line: str, names: list[str], where: str, number: int) -> None:
    fields = line.split()
    try:
        class_id = int(fields[0])
        values = [float(v) for v in fields[1:]]
    except ValueError:
        raise FormatError(where, f"not 'class x y w h' numbers: {line.strip()!r}") from None
    if not 0 <= class_id < len(names):
        raise FormatError(where, f"class {class_id} is not in the class list ({len(names)})")
    if any(not 0 <= v <= 1.0001 for v in values):
        raise FormatError(where, "coordinates must be normalised to [0, 1]")
    label = names[class_id]
    object_id = f"yolo{number}"
    attributes: dict[str, Any] = {}
    if len(values) == 4:
        cx, cy, w, h = values
        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        item.annotations["rectangles"].append(rectangle(object_id, label, box, attributes))
    elif len(values) >= 6 and len(values) % 2 == 0:
        points = [(values[i], values[i + 1]) for i in range(0, len(values), 2)]
        item.annotations["polygons"].append(shape(object_id, label, points, attributes, ring=True))
    else:
        raise FormatError(where, f"{len(values)} numbers: a box has 4, a segment 6 or more pairs")
