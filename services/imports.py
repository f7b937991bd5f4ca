"""CSV issue import: started by the API, run by a worker in batches, idempotent on retry."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Issue,
    IssueLabel,
    IssuePriority,
    IssueStatus,
    Job,
    JobFile,
    JobFileChunk,
    JobKind,
    Label,
    Membership,
    Project,
    User,
)
from services.csv_import import CsvHeaderError, ImportRow, RowError, parse_issue_csv
from services.errors import Invalid
from services.issue_rules import closed_at, take_numbers
from services.job_kind import ImportSettings, JobKindSpec, JobStart
from services.job_runs import JobRun
from services.jobs import JobInput

log = structlog.get_logger("issuegraph.imports")

MAX_REPORTED_ERRORS = 100
DEFAULT_LABEL_COLOR = "#ededed"


async def start_import(start: JobStart, *, project_id: int, csv_text: str) -> tuple[Job, bool]:
    project = await start.project_for_write(project_id)
    data = csv_text.encode("utf-8")
    max_bytes = start.limits.import_max_bytes
    if len(data) > max_bytes:
        raise Invalid(
            f"The CSV is {len(data):,} bytes; the limit is {max_bytes:,}.", ["input", "csv"]
        )
    if not csv_text.strip():
        raise Invalid("The CSV is empty.", ["input", "csv"])
    return await IMPORT_JOB.start(
        start,
        workspace_id=project.workspace_id,
        params={"project_id": project.id},
        job_input=JobInput(data=data, content_type="text/csv", filename="import.csv"),
    )


async def _read_input(session: AsyncSession, job_id: int) -> str:
    chunks = await session.scalars(
        select(JobFileChunk.data)
        .join(JobFile, JobFile.id == JobFileChunk.file_id)
        .where(JobFile.job_id == job_id, JobFile.purpose == "input")
        .order_by(JobFileChunk.seq)
    )
    return b"".join(chunks).decode("utf-8")


def _parse(text: str) -> tuple[list[ImportRow], list[RowError]]:
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    for item in parse_issue_csv(text):
        (rows if isinstance(item, ImportRow) else errors).append(item)  # type: ignore[arg-type]
    return rows, errors


@dataclass
class _Lookups:
    workspace_id: int
    members_by_email: dict[str, int]
    labels_by_name: dict[str, int]


async def _lookups(session: AsyncSession, project: Project) -> _Lookups:
    members = await session.execute(
        select(func.lower(User.email), User.id)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == project.workspace_id)
    )
    labels = await session.execute(
        select(func.lower(Label.name), Label.id).where(Label.workspace_id == project.workspace_id)
    )
    return _Lookups(
        project.workspace_id,
        dict(members.all()),
        dict(labels.all()),
    )


async def _create_labels(session: AsyncSession, workspace_id: int, names: set[str]) -> None:
    if not names:
        return
    await session.execute(
        pg_insert(Label)
        .values(
            [
                {"workspace_id": workspace_id, "name": n, "color": DEFAULT_LABEL_COLOR}
                for n in sorted(names)
            ]
        )
        .on_conflict_do_nothing()
    )


def _resolve(
    rows: list[ImportRow], lookups: _Lookups
) -> tuple[list[tuple[ImportRow, int | None, list[int]]], list[RowError]]:
    """Match assignee emails and label names; a row naming an unknown one fails."""
    resolved: list[tuple[ImportRow, int | None, list[int]]] = []
    errors: list[RowError] = []
    for row in rows:
        assignee_id = None
        if row.assignee_email is not None:
            assignee_id = lookups.members_by_email.get(row.assignee_email)
            if assignee_id is None:
                errors.append(
                    RowError(
                        row.line,
                        f"unknown assignee email '{row.assignee_email}' "
                        "(not a member of this workspace)",
                    )
                )
                continue
        label_ids: list[int] = []
        unknown = [n for n in row.label_names if n.lower() not in lookups.labels_by_name]
        if unknown:
            errors.append(RowError(row.line, f"unknown label(s): {', '.join(unknown)}"))
            continue
        label_ids = list(dict.fromkeys(lookups.labels_by_name[n.lower()] for n in row.label_names))
        resolved.append((row, assignee_id, label_ids))
    return resolved, errors


async def run_import(run: JobRun, settings: ImportSettings) -> dict[str, Any]:
    """Import the job's CSV into its project; the result is the contract's import summary."""
    job = run.job
    async with run.session_factory() as session:
        project = await run.target(session, Project, "project_id")
        text = await _read_input(session, job.id)
        already = set(
            await session.scalars(select(Issue.import_line).where(Issue.import_job_id == job.id))
        )
    await run.progress(None, "Parsing the CSV.")  # a retry keeps the progress it had
    try:
        # Parsing 10 MB is pure CPU work: keep it off the event loop (docs/architecture.md, rule 6).
        rows, errors = await asyncio.to_thread(_parse, text)
    except CsvHeaderError as error:
        raise Invalid(f"The CSV cannot be imported: {error}") from None

    async with run.session_factory() as session:
        lookups = await _lookups(session, project)
        if settings.create_unknown_labels:
            wanted = {n for r in rows for n in r.label_names}
            missing = {n for n in wanted if n.lower() not in lookups.labels_by_name}
            if missing:
                await _create_labels(session, project.workspace_id, missing)
                await session.commit()
                lookups = await _lookups(session, project)
    resolved, lookup_errors = _resolve(rows, lookups)
    errors.extend(lookup_errors)
    todo = [item for item in resolved if item[0].line not in already]
    # Progress counts rows imported by every attempt, so a resumed import never goes back.
    total = max(len(resolved), 1)
    done = len(resolved) - len(todo)
    for start in range(0, len(todo), settings.batch_size):
        batch = todo[start : start + settings.batch_size]
        async with run.session_factory() as session:
            await _insert_batch(session, project, job.id, job.created_by, batch)
            done += len(batch)
            row = await run.checkpoint(
                session, done / total, f"Imported {done} of {len(resolved)} rows."
            )
            await session.commit()
        await run.events.publish(row)

    async with run.session_factory() as session:
        created = await session.scalar(
            select(func.count()).select_from(Issue).where(Issue.import_job_id == job.id)
        )
    errors.sort(key=lambda e: e.line)
    return {
        "created": created or 0,
        "failed": len(errors),
        "errors": [{"line": e.line, "message": e.message} for e in errors[:MAX_REPORTED_ERRORS]],
    }


async def _insert_batch(
    session: AsyncSession,
    project: Project,
    job_id: int,
    reporter_id: int,
    batch: list[tuple[ImportRow, int | None, list[int]]],
) -> None:
    """One batch in one transaction: numbers, issues (one statement), their labels."""
    numbers = await take_numbers(session, project.id, len(batch))
    now = datetime.now(UTC)
    values = []
    for number, (row, assignee_id, _) in zip(numbers, batch, strict=True):
        status = row.status or IssueStatus.BACKLOG
        values.append(
            {
                "workspace_id": project.workspace_id,
                "project_id": project.id,
                "number": number,
                "title": row.title,
                "body": row.body,
                "status": status,
                "priority": row.priority or IssuePriority.NONE,
                "reporter_id": reporter_id,
                "assignee_id": assignee_id,
                "closed_at": closed_at(status, now=now),
                "import_job_id": job_id,
                "import_line": row.line,
            }
        )
    # Plain parameter rows: SQLAlchemy's "insertmanyvalues" sends them as multi-row INSERTs
    # (hundreds of rows per statement) from one cached compiled statement.
    inserted = await session.execute(
        pg_insert(Issue)
        .on_conflict_do_nothing(index_elements=["import_job_id", "import_line"])
        .returning(Issue.id, Issue.import_line),
        values,
    )
    ids_by_line = {line: issue_id for issue_id, line in inserted}
    links = [
        {"issue_id": ids_by_line[row.line], "label_id": label_id}
        for row, _, label_ids in batch
        if row.line in ids_by_line
        for label_id in label_ids
    ]
    if links:
        await session.execute(insert(IssueLabel), links)


IMPORT_JOB = JobKindSpec(
    JobKind.IMPORT_ISSUES,
    task="issues.import",
    run=lambda run, resources: run_import(run, resources.imports),
    summary=lambda result: f"Imported {result['created']} issues; {result['failed']} rows failed.",
)
