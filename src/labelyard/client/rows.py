"""Rows of a job import file, JSONL or CSV, read as job create bodies (API.md 3.2).

- JSONL (any name not ending in ``.csv``, UTF-8): one create body, a JSON object, a line;
  blank lines are skipped.
- CSV (``.csv``, UTF-8): a header row naming create fields (``reference_id``, ``data`` as a
  JSON object, ``work_flow_id``, ``tag``, ``batch_id``, ``priority_weight``, ``type``); an empty
  cell is an absent field.
- In both, ``image_url`` is short for ``data.image_url`` (IMAGE and SEGMENTATION projects).

Nothing here is checked beyond what reading needs: the server judges every body.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Row:
    """A row of the file: its line, what it holds, and the create body made of it.

    ``body`` is None when the row could not be read; ``problem`` then says why.
    """

    line: int
    raw: Any  # the CSV record, the line's JSON value, or the line's text if it is not JSON
    body: dict[str, Any] | None
    problem: str = ""


def is_csv(path: Path) -> bool:
    """Whether ``path`` is read as CSV (else as JSONL)."""
    return path.suffix.lower() == ".csv"


def read_rows(path: Path) -> Iterator[Row]:
    """The rows of an import file, in file order."""
    return _csv_rows(path) if is_csv(path) else _jsonl_rows(path)


def count_rows(path: Path) -> int:
    """How many rows ``read_rows`` will give (a quick pass that decodes nothing)."""
    if is_csv(path):
        with path.open(encoding="utf-8-sig", newline="") as file:
            return max(0, sum(1 for record in csv.reader(file) if record) - 1)
    with path.open("rb") as binary:
        return sum(1 for line in binary if line.strip())


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with path.open("rb") as file:  # lines are decoded one by one: a bad one is a bad row
        for line, text in enumerate(file, 1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except ValueError as exc:  # UnicodeDecodeError too
                raw = text.decode("utf-8", "replace").rstrip("\r\n")
                yield Row(line, raw, None, f"not valid JSON: {exc}")
                continue
            if not isinstance(value, dict):
                yield Row(line, value, None, "a line must hold a JSON object")
                continue
            yield Row(line, value, _expand(dict(value)))


def _csv_rows(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.DictReader(file)
        for record in reader:
            raw = {key: value for key, value in record.items() if key is not None}
            body: dict[str, Any] = {k.strip(): v for k, v in raw.items() if k.strip() and v}
            if "data" in body:
                try:
                    body["data"] = json.loads(body["data"])
                except ValueError as exc:
                    yield Row(reader.line_num, raw, None, f"data is not valid JSON: {exc}")
                    continue
            if "priority_weight" in body:
                with contextlib.suppress(ValueError):  # the server names a bad one
                    body["priority_weight"] = int(body["priority_weight"])
            yield Row(reader.line_num, raw, _expand(body))


def _expand(body: dict[str, Any]) -> dict[str, Any]:
    """``image_url`` moved into ``data``."""
    if "image_url" in body:
        url = body.pop("image_url")
        data = body.get("data")
        if data is None:
            body["data"] = {"image_url": url}
        elif isinstance(data, Mapping):
            body["data"] = {**data, "image_url": url}
    return body
