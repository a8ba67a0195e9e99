"""The streaming runner: pages of jobs in, one export file out, with progress and a report.

Jobs arrive a page at a time from a keyset cursor, each parsed only when it is taken; the runner
finds image sizes where the format needs them (a few dozen probes at a time), hands each job to
the format's writer and reports progress after every page (formats without sizes) or chunk.
Jobs it must leave out (no image size) are counted, and the first ``REPORT_LIMIT`` are kept with
their reason.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, cast

from labelyard.core.model import Base
from labelyard.exports.classes import Classes
from labelyard.exports.coco import CocoWriter
from labelyard.exports.kitti import KittiWriter
from labelyard.exports.names import FileNames
from labelyard.exports.ndjson import NdjsonWriter
from labelyard.exports.sizes import ImageSize, ImageSizer, NoSize
from labelyard.exports.spec import Format
from labelyard.exports.voc import VocWriter
from labelyard.exports.writer import ExportJob, Writer
from labelyard.exports.yolo import YoloWriter

REPORT_LIMIT = 1000
REASON_MAX_CHARS = 300
SIZE_CHUNK = 64
YIELD_EVERY = 1024
"""Jobs written between two turns of the event loop. The read of the next page (started
ahead by the page source) runs only in those turns: without them it started once the whole
page was written, and the export waited for it. With them, PostgreSQL runs the next query and
the driver takes in its rows while this page is written, and SQLite's thread reads it."""


class Page(NamedTuple):
    """A page of jobs: how many, and the jobs (taken one at a time, in order); or, for an NDJSON
    export of an IMAGE project, the rows of their stored JSON's parts
    (``NdjsonWriter.write_stored``) instead of jobs."""

    size: int
    jobs: Iterable[ExportJob]
    stored: Sequence[tuple[Any, ...]] = ()


Progress = Callable[[int, int], Awaitable[None]]
"""Called with (jobs done so far, jobs skipped so far) after every chunk of jobs."""


@dataclass
class Report:
    """The jobs left out of an export: how many, and the first ``limit`` with their reason."""

    limit: int = REPORT_LIMIT
    skipped: list[dict[str, str]] = field(default_factory=list)
    skipped_total: int = 0

    def add(self, job: ExportJob, reason: str) -> None:
        """Count a skipped job; keep it if there is room."""
        self.skipped_total += 1
        if len(self.skipped) < self.limit:
            self.skipped.append(
                {
                    "job_id": job.job_id,
                    "reference_id": job.reference_id,
                    "reason": reason[:REASON_MAX_CHARS],
                }
            )

    def to_json(self) -> dict[str, Any]:
        """``{"skipped": [{"job_id", "reference_id", "reason"}...], "skipped_total",
        "truncated"}``."""
        return {
            "skipped": list(self.skipped),
            "skipped_total": self.skipped_total,
            "truncated": self.skipped_total > len(self.skipped),
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an export wrote."""

    done_jobs: int
    exported_jobs: int
    skipped_jobs: int
    report: Report


def open_writer(
    fmt: Format, path: Path, *, base: Base, classes: Classes, title: str, now: datetime
) -> Writer:
    """A writer of ``fmt`` creating the file at ``path``."""
    if fmt is Format.NDJSON:
        return NdjsonWriter(path, base=base)
    if fmt is Format.COCO:
        info = {
            "description": title,
            "version": "1.0",
            "year": now.year,
            "contributor": "labelyard",
            "url": "",
            "date_created": now.isoformat(),
        }
        return CocoWriter(path, classes=classes, names=FileNames(), info=info)
    if fmt is Format.YOLO:
        return YoloWriter(path, classes=classes, names=FileNames(), modified=now)
    if fmt is Format.KITTI3D:
        return KittiWriter(path, modified=now)
    return VocWriter(path, classes=classes, names=FileNames(), modified=now)


_pausing = 0
"""Exports of this process under way with the collector paused (it runs again after the last)."""
_collector_was_on = False


def _pause_collector() -> None:
    global _pausing, _collector_was_on
    if _pausing == 0:
        _collector_was_on = gc.isenabled()
        gc.disable()
    _pausing += 1


def _resume_collector() -> None:
    global _pausing
    _pausing -= 1
    if _pausing == 0 and _collector_was_on:
        gc.enable()


async def write_export(
    pages: AsyncIterator[Page],
    writer: Writer,
    sizer: ImageSizer | None,
    *,
    on_progress: Progress,
) -> Outcome:
    """Write every job of ``pages`` with ``writer`` and finish the file (discarded on error)."""
    report = Report()
    done = 0
    write = writer.write
    # The objects an export makes (parsed documents, records, rows) hold no cycles: the
    # collector is paused meanwhile. Left running, the allocations of every job set off
    # collections that walk the pages and the records waiting to be encoded, again and again:
    # over a third of a COCO export's time. What cycles other work makes meanwhile are
    # collected once it runs again.
    _pause_collector()
    try:
        async for page in pages:
            if page.stored:
                if not isinstance(writer, NdjsonWriter):
                    raise ValueError("only NDJSON writes jobs as stored rows")
                await asyncio.sleep(0)  # the next page's read starts (on SQLite's thread)
                writer.write_stored(page.stored)
                done += page.size
                await on_progress(done, report.skipped_total)
                continue
            if not writer.needs_sizes:
                jobs = iter(page.jobs)
                for start in range(0, page.size, YIELD_EVERY):
                    if start:
                        await asyncio.sleep(0)
                    for job in itertools.islice(jobs, YIELD_EVERY):
                        write(job, None)
                done += page.size
                await on_progress(done, report.skipped_total)
                continue
            if sizer is None:
                raise ValueError("this format needs image sizes: pass an ImageSizer")
            jobs = iter(page.jobs)
            turn = done + YIELD_EVERY
            while chunk := list(itertools.islice(jobs, SIZE_CHUNK)):
                if done >= turn:
                    turn = done + YIELD_EVERY
                    await asyncio.sleep(0)
                sizes = await sizer.sizes([job.data for job in chunk])
                for job, sizing in zip(chunk, sizes, strict=True):
                    if type(sizing) is ImageSize:
                        write(job, sizing)
                    else:
                        report.add(job, cast(NoSize, sizing).reason)
                done += len(chunk)
                await on_progress(done, report.skipped_total)
        writer.close()
    except BaseException:
        writer.discard()
        raise
    finally:
        _resume_collector()
    return Outcome(
        done_jobs=done,
        exported_jobs=done - report.skipped_total,
        skipped_jobs=report.skipped_total,
        report=report,
    )
