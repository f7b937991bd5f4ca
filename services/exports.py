"""Project export: issues streamed from PostgreSQL into a CSV or JSON file stored in chunks.

The project is never held in memory: rows come through a server-side cursor and the file
is written chunk by chunk, so any API replica can stream it back for download.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    Comment,
    Issue,
    IssueLabel,
    Job,
    JobFile,
    JobFileChunk,
    JobKind,
    JobStatus,
    Label,
    Project,
    User,
)
from services.errors import Invalid, NotFound
from services.job_kind import ExportSettings, JobKindSpec, JobStart
from services.job_runs import JobRun
from services.viewer import Viewer

FORMATS = {"CSV": ("text/csv; charset=utf-8", "csv"), "JSON": ("application/json", "json")}
COLUMNS = [
    "identifier",
    "number",
    "title",
    "body",
    "status",
    "priority",
    "labels",
    "assignee_email",
    "reporter_email",
    "comment_count",
    "created_at",
    "updated_at",
    "closed_at",
]
ROWS_PER_FETCH = 1000


async def start_export(start: JobStart, *, project_id: int, export_format: str) -> tuple[Job, bool]:
    project = await start.project_for_write(project_id)
    if export_format not in FORMATS:
        raise Invalid(f"Unknown format {export_format}.", ["input", "format"])
    return await EXPORT_JOB.start(
        start,
        workspace_id=project.workspace_id,
        params={"project_id": project.id, "format": export_format},
    )


def _issue_rows_query(project: Project) -> Any:
    assignee = User.__table__.alias("assignee")
    reporter = User.__table__.alias("reporter")
    labels = (
        select(func.string_agg(Label.name, aggregate_order_by(literal(";"), Label.name)))
        .join(IssueLabel, IssueLabel.label_id == Label.id)
        .where(IssueLabel.issue_id == Issue.id)
        .scalar_subquery()
    )
    comments = (
        select(func.count()).select_from(Comment).where(Comment.issue_id == Issue.id)
    ).scalar_subquery()
    return (
        select(
            Issue.number,
            Issue.title,
            Issue.body,
            Issue.status,
            Issue.priority,
            func.coalesce(labels, ""),
            assignee.c.email,
            reporter.c.email,
            comments,
            Issue.created_at,
            Issue.updated_at,
            Issue.closed_at,
        )
        .join(reporter, reporter.c.id == Issue.reporter_id)
        .outerjoin(assignee, assignee.c.id == Issue.assignee_id)
        .where(Issue.project_id == project.id)
        .order_by(Issue.number)
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _record(key: str, row: Any) -> dict[str, Any]:
    number, title, body, status, priority, labels, assignee, reporter, comments, c, u, closed = row
    return {
        "identifier": f"{key}-{number}",
        "number": number,
        "title": title,
        "body": body,
        "status": status.value,
        "priority": priority.value,
        "labels": [n for n in labels.split(";") if n] if labels else [],
        "assignee_email": assignee,
        "reporter_email": reporter,
        "comment_count": comments,
        "created_at": _iso(c),
        "updated_at": _iso(u),
        "closed_at": _iso(closed),
    }


class _Renderer:
    """Turns records into bytes for one format; ``header``/``footer`` frame the file."""

    def __init__(self, export_format: str) -> None:
        self.format = export_format
        self._first = True

    def header(self) -> bytes:
        if self.format == "JSON":
            return b"["
        out = io.StringIO()
        csv.writer(out).writerow(COLUMNS)
        return out.getvalue().encode()

    def render(self, records: list[dict[str, Any]]) -> bytes:
        if self.format == "JSON":
            parts = []
            for record in records:
                parts.append(b"\n" if self._first else b",\n")
                parts.append(orjson.dumps(record))
                self._first = False
            return b"".join(parts)
        out = io.StringIO()
        writer = csv.writer(out)
        for record in records:
            row = dict(record, labels=";".join(record["labels"]))
            writer.writerow(["" if row[c] is None else row[c] for c in COLUMNS])
        return out.getvalue().encode()

    def footer(self) -> bytes:
        return b"\n]\n" if self.format == "JSON" else b""


class _ChunkWriter:
    """Buffers bytes and writes fixed-size chunks, each in its own short transaction."""

    def __init__(self, run: JobRun, file_id: int, chunk_bytes: int) -> None:
        self.run = run
        self.file_id = file_id
        self.chunk_bytes = chunk_bytes
        self.buffer = bytearray()
        self.seq = 0
        self.size = 0

    async def write(self, data: bytes, progress: float | None = None, message: str = "") -> None:
        self.buffer += data
        self.size += len(data)
        while len(self.buffer) >= self.chunk_bytes:
            await self._flush(bytes(self.buffer[: self.chunk_bytes]), progress, message)
            del self.buffer[: self.chunk_bytes]

    async def close(self) -> None:
        if self.buffer:
            await self._flush(bytes(self.buffer), None, "")
            self.buffer.clear()

    async def _flush(self, data: bytes, progress: float | None, message: str) -> None:
        async with self.run.session_factory() as session:
            await session.execute(
                insert(JobFileChunk).values(file_id=self.file_id, seq=self.seq, data=data)
            )
            row = None
            if progress is not None:
                row = await self.run.checkpoint(session, progress, message)
            await session.commit()
        self.seq += 1
        if row is not None:
            await self.run.events.publish(row)


async def _stream_records(
    session_factory: async_sessionmaker[AsyncSession], project: Project
) -> AsyncIterator[list[dict[str, Any]]]:
    async with session_factory() as session:
        result = await session.stream(
            _issue_rows_query(project).execution_options(yield_per=ROWS_PER_FETCH)
        )
        async for partition in result.partitions(ROWS_PER_FETCH):
            yield [_record(project.key, row) for row in partition]


async def run_export(run: JobRun, settings: ExportSettings) -> dict[str, Any]:
    job = run.job
    export_format = str(job.params["format"])
    content_type, extension = FORMATS[export_format]
    async with run.session_factory() as session:
        project = await run.target(session, Project, "project_id")
        total = await session.scalar(
            select(func.count()).select_from(Issue).where(Issue.project_id == project.id)
        )
        # A retried export starts over: drop what an earlier attempt wrote.
        await session.execute(
            delete(JobFile).where(JobFile.job_id == job.id, JobFile.purpose == "export")
        )
        file_id = await session.scalar(
            insert(JobFile)
            .values(
                job_id=job.id,
                purpose="export",
                content_type=content_type,
                filename=f"{project.key}-issues.{extension}",
            )
            .returning(JobFile.id)
        )
        await session.commit()
    assert file_id is not None
    renderer = _Renderer(export_format)
    writer = _ChunkWriter(run, file_id, settings.chunk_bytes)
    await writer.write(renderer.header())
    rows = 0
    async for records in _stream_records(run.session_factory, project):
        rows += len(records)
        progress = rows / max(total or 0, 1) * 0.99
        await writer.write(
            renderer.render(records), progress, f"Exported {rows} of {total} issues."
        )
    await writer.write(renderer.footer())
    await writer.close()
    async with run.session_factory() as session:
        await session.execute(
            update(JobFile)
            .where(JobFile.id == file_id)
            .values(size_bytes=writer.size, expires_at=func.now() + settings.ttl)
        )
        await session.commit()
    return {"rows": rows, "bytes": writer.size, "format": export_format}


EXPORT_JOB = JobKindSpec(
    JobKind.EXPORT_PROJECT,
    task="projects.export",
    run=lambda run, resources: run_export(run, resources.exports),
    summary=lambda result: f"Exported {result['rows']} issues ({result['bytes']} bytes).",
)


class ExportExpired(NotFound):
    """The file existed but its time is up (HTTP 410 rather than 404)."""


@dataclass(frozen=True)
class ExportDownload:
    file_id: int
    content_type: str
    filename: str
    size_bytes: int
    chunks: int


async def find_download(session: AsyncSession, viewer: Viewer, job_id: int) -> ExportDownload:
    """The export file of a job the viewer may read; NotFound for anything else or expired."""
    job = await session.get(Job, job_id)
    if (
        job is None
        or not viewer.can_read(job.workspace_id)
        or job.kind is not JobKind.EXPORT_PROJECT
        or job.status is not JobStatus.SUCCEEDED
    ):
        raise NotFound("No such export.")
    row = (
        await session.execute(
            select(
                JobFile.id,
                JobFile.content_type,
                JobFile.filename,
                JobFile.size_bytes,
                JobFile.expires_at > func.now(),
                select(func.count()).where(JobFileChunk.file_id == JobFile.id).scalar_subquery(),
            ).where(JobFile.job_id == job.id, JobFile.purpose == "export")
        )
    ).first()
    if row is None or not row[4]:
        raise ExportExpired("This export has expired; start a new one.")
    return ExportDownload(row[0], row[1], row[2], row[3], row[5])


async def read_chunk(session: AsyncSession, file_id: int, seq: int) -> bytes:
    data = await session.scalar(
        select(JobFileChunk.data).where(JobFileChunk.file_id == file_id, JobFileChunk.seq == seq)
    )
    return data or b""
