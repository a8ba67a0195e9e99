"""Client commands of ``labelyard``: ``jobs import``, ``jobs list`` and ``results download``.

Unlike the management commands they need no database: they talk to a running server over HTTP
(``--url`` or ``LABELYARD_URL``, ``--api-key`` or ``LABELYARD_API_KEY``) through
``labelyard.client``. See docs/client.md.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from enum import StrEnum
from itertools import chain, islice
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from labelyard.client.client import DEFAULT_CHUNK_SIZE, MAX_BULK_JOBS, Client
from labelyard.client.errors import LabelyardError
from labelyard.client.models import BulkOutcome
from labelyard.client.rows import Row, count_rows, read_rows

jobs_app = typer.Typer(help="Jobs, over a server's API (--url, --api-key).", no_args_is_help=True)
results_app = typer.Typer(
    help="Results of completed jobs, over a server's API (--url, --api-key).", no_args_is_help=True
)

project_app = typer.Typer(
    help="A project's analytics and audit log, over a server's API (--url, --api-key).",
    no_args_is_help=True,
)

console = Console(stderr=True, soft_wrap=True)
DEFAULT_CONCURRENCY = 8
DEFAULT_TAG = "default"  # the tag of every project's default workflow

Url = Annotated[
    str, typer.Option("--url", envvar="LABELYARD_URL", help="Server, e.g. http://127.0.0.1:8080.")
]
ApiKey = Annotated[
    str, typer.Option("--api-key", envvar="LABELYARD_API_KEY", help="The account's API key.")
]
ProjectId = Annotated[str, typer.Option("--project", help="Project id.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object.")]


class ListFormat(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"


@contextmanager
def _connected(url: str, api_key: str) -> Iterator[Client]:
    """A client of the server; a failure becomes a one-line message and exit code 1."""
    try:
        with Client(url, api_key) as client:
            yield client
    except LabelyardError as exc:
        console.print(f"[red]error[/red] {escape(exc.code)}: {escape(exc.message)}")
        raise typer.Exit(1) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:  # reading or writing local files
        console.print(f"[red]error[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None


def _progress() -> Progress:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=console, transient=True)


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _Rejected:
    """``<input>.rejected.jsonl``: written afresh by each run, and only if a row is rejected."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: IO[str] | None = None
        path.unlink(missing_ok=True)

    def add(self, row: Row, code: str, reason: str) -> None:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8")
        entry = {"line": row.line, "code": code, "reason": reason, "row": row.raw}
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _with_defaults(body: dict[str, Any], *, tag: str, batch_id: str | None) -> dict[str, Any]:
    """The body, with the command's workflow and batch where the row names none."""
    defaults: dict[str, Any] = {}
    if not body.get("work_flow_id") and not body.get("tag"):
        defaults["tag"] = tag
    if batch_id and not body.get("batch_id"):
        defaults["batch_id"] = batch_id
    return body | defaults


def _batch_id(
    client: Client, project: str, batch: str | None, batch_name: str | None
) -> str | None:
    """The batch of rows naming none: by id (it must exist), or by name (made if missing)."""
    if batch_name:
        return client.ensure_batch(project, batch_name)
    if batch and client.project_details(project).batch(batch) is None:
        raise LabelyardError("resource_error", f"no batch {batch} in this project")
    return batch


def _created(
    client: Client, project: str, chunks: Iterable[list[Row]], *, tag: str, batch_id: str | None
) -> Iterator[tuple[list[Row], Iterator[BulkOutcome]]]:
    """Each chunk with the outcomes of its readable rows, in order.

    One bulk call is in flight at a time, and the next is sent only once it succeeded, so jobs
    are made in file order; the next chunk is read while the server works.
    """
    with ThreadPoolExecutor(1) as sender:
        sending: tuple[list[Row], Future[list[BulkOutcome]]] | None = None
        for chunk in chunks:
            bodies = [
                _with_defaults(row.body, tag=tag, batch_id=batch_id)
                for row in chunk
                if row.body is not None
            ]
            done = (sending[0], sending[1].result()) if sending else None
            sent = sender.submit(client.create_jobs, project, bodies, chunk_size=len(chunk))
            sending = chunk, sent
            if done:
                yield done[0], iter(done[1])
        if sending:
            yield sending[0], iter(sending[1].result())


LABEL_FORMATS = ("coco", "yolo", "voc", "cvat", "labelstudio")


def _read_inputs(paths: list[Path]) -> dict[str, bytes]:
    """Every file named, the entries of a zip and the files under a folder, by name."""
    import zipfile

    files: dict[str, bytes] = {}
    for path in paths:
        if path.is_dir():
            for inner in sorted(p for p in path.rglob("*") if p.is_file()):
                files[str(inner)] = inner.read_bytes()
        elif path.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(path) as archive:
                    for entry in archive.infolist():
                        if not entry.is_dir():
                            files[f"{path}!{entry.filename}"] = archive.read(entry)
            except zipfile.BadZipFile as exc:
                raise OSError(f"{path}: not a zip ({exc})") from None
        else:
            files[str(path)] = path.read_bytes()
    return files


def _labelled(
    client: Client,
    project: str,
    paths: list[Path],
    fmt: str,
    *,
    renames: list[str],
    media_root: str,
    media_url: str,
    partial: bool,
    completed: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The create bodies of label files (pre-labels), all read before anything is sent."""
    from importlib import import_module

    from labelyard.importers import Classes, FormatError, Media, bodies, parse_renames

    try:
        module = import_module(f"labelyard.importers.{fmt}")
        items = module.parse(_read_inputs(paths))
        base, schema = client.label_schema(project)
        known = frozenset(schema.classes) if not schema.open else None
        classes = Classes(renames=parse_renames(renames), known=known)
        return bodies(
            items,
            classes=classes,
            media=Media(media_root, media_url),
            partial=partial,
            schema=(base, schema),
            completed=completed,
        )
    except (FormatError, ValueError) as exc:
        console.print(f"[red]error[/red] {escape(str(exc))}")
        console.print("nothing was imported")
        raise typer.Exit(1) from None


def _created_completed(
    client: Client, project: str, chunks: Iterable[list[Row]], *, tag: str, batch_id: str | None
) -> Iterator[tuple[list[Row], Iterator[BulkOutcome]]]:
    """Each chunk with the outcomes of its jobs, created completed (one call at a time)."""
    for chunk in chunks:
        bodies = [
            _with_defaults(row.body, tag=tag, batch_id=batch_id)
            for row in chunk
            if row.body is not None
        ]
        yield chunk, iter(client.create_completed_jobs(project, bodies, chunk_size=len(chunk)))


@jobs_app.command("import")
def jobs_import(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="JSONL (a create body a line) or .csv file; or label files (--format).",
            exists=True,
        ),
    ],
    project: ProjectId,
    url: Url,
    api_key: ApiKey,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Label files: coco|yolo|voc|cvat|labelstudio (default: JSONL/CSV rows).",
        ),
    ] = None,
    renames: Annotated[
        list[str] | None, typer.Option("--map", help="Rename a class: old=new (repeatable).")
    ] = None,
    media_root: Annotated[
        str, typer.Option(help="Prefix of the image paths in the label files to replace.")
    ] = "",
    media_url: Annotated[
        str, typer.Option(help="The URL the images (or --media-root) are served at.")
    ] = "",
    partial: Annotated[
        bool, typer.Option(help="Drop objects of classes the schema lacks instead of stopping.")
    ] = False,
    as_completed: Annotated[
        bool,
        typer.Option(help="Label files: create the jobs completed, the labels as results."),
    ] = False,
    batch: Annotated[str | None, typer.Option(help="Batch id, for rows naming none.")] = None,
    batch_name: Annotated[
        str | None, typer.Option(help="Batch name, for rows naming none; created if missing.")
    ] = None,
    tag: Annotated[
        str, typer.Option(help="Workflow tag or id, for rows naming neither tag nor work_flow_id.")
    ] = DEFAULT_TAG,
    chunk_size: Annotated[
        int, typer.Option(min=1, max=MAX_BULK_JOBS, help="Jobs per bulk call.")
    ] = DEFAULT_CHUNK_SIZE,
    as_json: JsonFlag = False,
) -> None:
    """Create the jobs of FILE in bulk calls; safe to re-run (no job is made twice).

    With --format, label files made in other tools become jobs whose objects are pre-labels
    (data.maker_response); see docs/migrate.md. Rejected rows go to FILE.rejected.jsonl with
    their line and reason; see docs/client.md.
    """
    if batch and batch_name:
        console.print("[red]error[/red] give --batch or --batch-name, not both")
        raise typer.Exit(2)
    if fmt is not None and fmt not in LABEL_FORMATS:
        console.print(f"[red]error[/red] --format must be one of {', '.join(LABEL_FORMATS)}")
        raise typer.Exit(2)
    if as_completed and fmt is None:
        console.print("[red]error[/red] --as-completed is for label files (--format)")
        raise typer.Exit(2)
    if fmt is None and len(files) != 1:
        console.print("[red]error[/red] JSONL/CSV rows come from one file")
        raise typer.Exit(2)
    file = files[0]
    rejected = _Rejected(file.with_name(file.name + ".rejected.jsonl"))
    created = existing = 0
    dropped: list[dict[str, Any]] = []
    with _connected(url, api_key) as client, _progress() as bar:
        if fmt is None:
            rows: Iterable[Row] = read_rows(file)
            total = count_rows(file)
        else:
            made, dropped = _labelled(
                client,
                project,
                files,
                fmt,
                renames=renames or [],
                media_root=media_root,
                media_url=media_url,
                partial=partial,
                completed=as_completed,
            )
            if as_completed:
                for body in made:
                    body["annotations"] = body["data"].pop("maker_response")
            rows = [Row(i + 1, body, body) for i, body in enumerate(made)]
            total = len(made)
        batch_id = _batch_id(client, project, batch, batch_name)
        task = bar.add_task(f"import {file.name}", total=total)
        try:
            chunks = _chunks(rows, chunk_size)
            send = _created_completed if as_completed else _created
            for chunk, outcomes in send(client, project, chunks, tag=tag, batch_id=batch_id):
                for row in chunk:
                    if row.body is None:
                        rejected.add(row, "invalid_row", row.problem)
                        continue
                    outcome = next(outcomes)
                    if outcome.error is not None:
                        rejected.add(row, outcome.error.code, outcome.error.message)
                    elif outcome.created:
                        created += 1
                    else:
                        existing += 1
                bar.advance(task, len(chunk))
        finally:
            rejected.close()
    where = str(rejected.path) if rejected.count else None
    summary: dict[str, Any] = {
        "created": created,
        "already_there": existing,
        "rejected": rejected.count,
        "rejected_file": where,
    }
    if fmt is not None:
        summary["dropped_objects"] = len(dropped)
        summary["dropped"] = dropped[:1000]
    if as_json:
        print(json.dumps(summary))
        return
    print(f"created {created:,}, already there {existing:,}, rejected {rejected.count:,}")
    if where:
        print(f"rejected rows and their reasons: {where}")
    if dropped:
        print(f"{len(dropped):,} objects of classes the schema lacks were dropped (--partial)")


@jobs_app.command("list")
def jobs_list(
    project: ProjectId,
    batch: Annotated[str, typer.Option(help="Batch id.")],
    url: Url,
    api_key: ApiKey,
    status: Annotated[
        str | None, typer.Option(help="Only these statuses (comma-separated).")
    ] = None,
    fmt: Annotated[ListFormat, typer.Option("--format", help="Output format.")] = ListFormat.TABLE,
) -> None:
    """Every job of a batch, in creation order."""
    with _connected(url, api_key) as client:
        jobs = client.batch_jobs(project, batch, status=status)
        first = next(jobs, None)  # the first page: a wrong key or batch fails before any output
        try:
            if fmt is ListFormat.TABLE:
                print(f"{'JOB ID':36}  {'STATUS':11}  FRAMES  ANNOTATIONS  PRIORITY  REFERENCE ID")
            for job in chain([first] if first else [], jobs):
                if fmt is ListFormat.JSONL:
                    line = json.dumps(
                        {
                            "id": job.id,
                            "reference_id": job.reference_id,
                            "status": job.status,
                            "frames": job.frames,
                            "annotations": job.annotations,
                            "priority_weight": job.priority_weight,
                            "tag": job.tag,
                        }
                    )
                else:
                    line = (
                        f"{job.id:36}  {job.status:11}  {job.frames:>6}  {job.annotations:>11}"
                        f"  {job.priority_weight:>8}  {job.reference_id}"
                    )
                print(line)
        except BrokenPipeError:  # the reader went away (``| head``): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@results_app.command("download")
def results_download(
    project: ProjectId,
    batch: Annotated[str, typer.Option(help="Batch id.")],
    out: Annotated[Path, typer.Option(file_okay=False, help="Directory for <job id>.json files.")],
    url: Url,
    api_key: ApiKey,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Downloads at once.")
    ] = DEFAULT_CONCURRENCY,
    as_json: JsonFlag = False,
) -> None:
    """Save the result of every completed job of a batch as OUT/<job id>.json.

    Files already there are skipped, and a file appears only once complete, so an interrupted
    run is finished by running it again.
    """
    downloaded = skipped = 0
    failed: list[dict[str, str]] = []
    with _connected(url, api_key) as client, _progress() as bar:
        out.mkdir(parents=True, exist_ok=True)
        counted = client.project_details(project).batch(batch)
        task = bar.add_task("download results", total=counted.completed_jobs if counted else None)
        pending: dict[Future[Path], str] = {}

        def settle(done: Iterable[Future[Path]]) -> None:
            nonlocal downloaded
            for future in done:
                job_id = pending.pop(future)
                try:
                    future.result()
                    downloaded += 1
                except (LabelyardError, OSError) as exc:
                    failed.append({"job_id": job_id, "reason": str(exc)})
                bar.advance(task)

        pool = ThreadPoolExecutor(concurrency)
        try:
            for job in client.batch_jobs(project, batch, status="completed"):
                target = out / f"{job.id}.json"
                if target.exists():
                    skipped += 1
                    bar.advance(task)
                    continue
                if len(pending) >= 2 * concurrency:
                    settle(wait(pending, return_when=FIRST_COMPLETED).done)
                pending[pool.submit(client.download_result, project, job.id, target)] = job.id
            settle(wait(pending).done)
        finally:
            pool.shutdown(cancel_futures=True)
    if as_json:
        print(json.dumps({"downloaded": downloaded, "already_there": skipped, "failed": failed}))
    else:
        print(f"downloaded {downloaded:,}, already there {skipped:,}, failed {len(failed):,}")
        for failure in failed[:10]:
            console.print(f"  {failure['job_id']}: {escape(failure['reason'])}")
    if failed:
        raise typer.Exit(1)


class AnalyticsTable(StrEnum):
    SUMMARY = "summary"
    WORKERS = "workers"
    BATCHES = "batches"


@project_app.command("analytics")
def project_analytics(
    url: Url,
    api_key: ApiKey,
    project: ProjectId,
    since: Annotated[str | None, typer.Option(help="First UTC day, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Last UTC day, YYYY-MM-DD.")] = None,
    csv_of: Annotated[
        AnalyticsTable,
        typer.Option("--csv", help="summary: the JSON figures; workers|batches: CSV."),
    ] = AnalyticsTable.SUMMARY,
) -> None:
    """Per worker and per batch figures over a range of days (default: the last 30)."""
    with _connected(url, api_key) as client:
        if csv_of is AnalyticsTable.SUMMARY:
            print(json.dumps(client.analytics(project, since=since, until=until)))
        else:
            text = client.analytics_csv(project, csv_of.value, since=since, until=until)
            sys.stdout.write(text)


@project_app.command("audit")
def project_audit(
    url: Url,
    api_key: ApiKey,
    project: ProjectId,
    limit: Annotated[int, typer.Option(help="At most this many entries.", min=1)] = 100,
) -> None:
    """The audit log of the project and its account, newest first, one JSON object a line."""
    with _connected(url, api_key) as client:
        for entry in islice(client.audit(project), limit):
            print(json.dumps(entry))
