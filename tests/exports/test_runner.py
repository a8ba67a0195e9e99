"""``exports.runner.write_export``: the collector is paused only while an export writes, and
the event loop gets turns while a page is written (the next page is read meanwhile)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from labelyard.core.model import Base
from labelyard.exports.classes import Classes
from labelyard.exports.runner import YIELD_EVERY, Page, open_writer, write_export
from labelyard.exports.sizes import ImageSizer
from labelyard.exports.spec import Format
from labelyard.exports.writer import ExportJob
from tests.exports.samples import NOW

DATA = {"image_url": "https://img.example/a.jpg", "image_width": 10, "image_height": 5}


def _jobs(count: int) -> list[ExportJob]:
    return [
        ExportJob(f"job-{i}", f"ref-{i}", "batch", "completed", DATA, {"rectangles": []})
        for i in range(count)
    ]


async def _one_page(jobs: list[ExportJob], fail: bool = False) -> AsyncIterator[Page]:
    yield Page(len(jobs), iter(jobs))
    if fail:
        raise RuntimeError("the next page could not be read")


async def _progress(done: int, skipped: int) -> None:
    pass


@pytest.mark.parametrize("fmt", [Format.NDJSON, Format.COCO])
def test_the_loop_gets_turns_while_a_page_is_written(fmt: Format, tmp_path: Path) -> None:
    jobs = _jobs(3 * YIELD_EVERY + 5)
    seen: list[int] = []

    async def run() -> None:
        writer = open_writer(
            fmt, tmp_path / "out", base=Base.IMAGE, classes=Classes(), title="t", now=NOW
        )
        written = 0

        def counting(job: ExportJob, size: object) -> None:
            nonlocal written
            written += 1
            write(job, size)  # type: ignore[arg-type]

        write = writer.write
        writer.write = counting  # type: ignore[method-assign]

        async def watch() -> None:  # what a page read ahead would do: run between writes
            while True:
                seen.append(written)
                await asyncio.sleep(0)

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0)
        sizer = ImageSizer(None, local_files=False)
        await write_export(_one_page(jobs), writer, sizer, on_progress=_progress)
        watcher.cancel()

    asyncio.run(run())
    during = {count for count in seen if 0 < count < len(jobs)}
    assert len(during) >= 3  # the one page of 3,077 jobs was written in several turns


def test_the_collector_runs_again_after_an_export_whether_it_ends_or_fails(
    tmp_path: Path,
) -> None:
    assert gc.isenabled()

    async def run(fail: bool) -> None:
        writer = open_writer(
            Format.NDJSON, tmp_path / "out", base=Base.IMAGE, classes=Classes(), title="t", now=NOW
        )
        await write_export(_one_page(_jobs(10), fail), writer, None, on_progress=_progress)

    asyncio.run(run(False))
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="could not be read"):
        asyncio.run(run(True))
    assert gc.isenabled()
    gc.disable()  # a caller that had paused it itself: left paused
    try:
        asyncio.run(run(False))
        assert not gc.isenabled()
    finally:
        gc.enable()
