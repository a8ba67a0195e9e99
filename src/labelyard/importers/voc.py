"""Pascal VOC XML: an ``<annotation>`` per image with ``<size>`` and ``<object>``s, each a
``<name>`` and a ``<bndbox>`` in 1-based inclusive pixels (normalised here: ``(xmin - 1) /
width`` to ``xmax / width``). ``truncated``, ``difficult``, ``occluded`` and ``<attributes>``
become attributes. The reference id is the ``images.csv`` one (labelyard's export) or the
file name without extension; the location ``<path>`` when it is a URL, else ``<filename>``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any
from xml.etree import ElementTree

from labelyard.importers import FormatError, Item, entry_name, rectangle
from labelyard.importers.xml import parse_xml, text_of

FLAGS = ("truncated", "difficult", "occluded")


def _index(files: Mapping[str, bytes]) -> dict[str, str]:
    for name, raw in files.items():
        if entry_name(name) == "images.csv":
            rows = csv.DictReader(io.StringIO(raw.decode("utf-8")))
            return {
                PurePosixPath(r.get("file_name") or "").stem: r.get("reference_id") or ""
                for r in rows
            }
    return {}


def parse(files: Mapping[str, bytes]) -> list[Item]:
    """The images of the VOC files in ``files`` (``.xml``), in file order."""
    index = _index(files)
    items = []
    for name, raw in files.items():
        if PurePosixPath(name).suffix == ".xml":
            items.append(parse_annotation(name, raw, index))
    if not items:
        raise FormatError("files", "no VOC .xml annotation among the files")
    return items


def parse_annotation(name: str, raw: bytes, index: Mapping[str, str]) -> Item:
    root = parse_xml(name, raw)
    if root.tag != "annotation":
        raise FormatError(name, f"<{root.tag}> is not a VOC <annotation>")
    width = _pixels(root, "size/width", name)
    height = _pixels(root, "size/height", name)
    filename = text_of(root, "filename")
    path = text_of(root, "path")
    stem = PurePosixPath(name).stem
    reference = index.get(stem) or stem
    location = path if "://" in path else filename or path
    item = Item(reference_id=reference, location=location, where=name)
    item.size = (round(width), round(height))
    for n, obj in enumerate(root.iter("object"), 1):
        where = f"{name}: object[{n}]"
        label = text_of(obj, "name")
        if not label:
            raise FormatError(where, "has no <name>")
        xmin, ymin = _pixels(obj, "bndbox/xmin", where), _pixels(obj, "bndbox/ymin", where)
        xmax, ymax = _pixels(obj, "bndbox/xmax", where), _pixels(obj, "bndbox/ymax", where)
        attributes: dict[str, Any] = {}
        for flag in FLAGS:
            if text_of(obj, flag) == "1":
                attributes[flag] = True
        for attribute in obj.findall("attributes/attribute"):
            attributes[text_of(attribute, "name")] = _value(text_of(attribute, "value"))
        box = ((xmin - 1) / width, (ymin - 1) / height, xmax / width, ymax / height)
        item.annotations["rectangles"].append(rectangle(f"voc{n}", label, box, attributes))
    return item


def _pixels(element: ElementTree.Element, path: str, where: str) -> float:
    text = text_of(element, path)
    try:
        value = float(text)
    except ValueError:
        raise FormatError(where, f"<{path}> must be a number, not {text!r}") from None
    if path.startswith("size") and value <= 0:
        raise FormatError(where, f"<{path}> must be positive")
    return value


def _value(text: str) -> Any:
    return {"true": True, "false": False}.get(text, text)
