"""Reading import files: JSONL and CSV rows as job create bodies (no server needed)."""

from __future__ import annotations

from pathlib import Path

from labelyard.client.rows import count_rows, read_rows


def test_jsonl_rows_keep_their_line_and_image_url_moves_into_data(tmp_path: Path) -> None:
    path = tmp_path / "jobs.ndjson"
    path.write_bytes(
        b'{"reference_id": "a", "image_url": "https://i.example/a.jpg", "data": {"metadata": 1}}\n'
        b"\n"
        b"\xff not utf-8\n"
        b'"a string"\n'
        b'{"reference_id": "b", "data": {"video_data": {"frames": []}}}\n'
    )
    rows = list(read_rows(path))
    assert count_rows(path) == len(rows) == 4
    assert [row.line for row in rows] == [1, 3, 4, 5]
    assert rows[0].body == {
        "reference_id": "a",
        "data": {"metadata": 1, "image_url": "https://i.example/a.jpg"},
    }
    assert rows[0].raw["image_url"] == "https://i.example/a.jpg"  # the row as read, untouched
    assert rows[1].body is None and rows[1].problem.startswith("not valid JSON")
    assert rows[2].body is None and rows[2].raw == "a string"
    assert rows[3].body == {"reference_id": "b", "data": {"video_data": {"frames": []}}}


def test_csv_rows_empty_cells_are_absent_and_data_is_json(tmp_path: Path) -> None:
    path = tmp_path / "jobs.CSV"
    path.write_text(
        "\ufeffreference_id, tag ,data,priority_weight\n"
        'a,default,"{""image_url"": ""https://i.example/a.jpg""}",7\n'
        "b,,,high,extra cell\n"
        'c,default,"{broken",\n',
        encoding="utf-8",
    )
    rows = list(read_rows(path))
    assert count_rows(path) == len(rows) == 3
    assert rows[0].line == 2 and rows[0].body == {
        "reference_id": "a",
        "tag": "default",
        "data": {"image_url": "https://i.example/a.jpg"},
        "priority_weight": 7,
    }
    assert rows[1].body == {"reference_id": "b", "priority_weight": "high"}  # the server judges
    assert rows[2].body is None and rows[2].problem.startswith("data is not valid JSON")
    assert rows[2].raw["reference_id"] == "c"
