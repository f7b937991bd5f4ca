"""Deterministic benchmark data (`issuegraph seed --bench`), written with bulk inserts.

1 workspace, 50 users, 5 projects, 10,000 issues (3 labels and 5 comments each), 20 labels.
Not product code (``seeding/__init__.py``). Row-by-row service calls would take minutes; these
are multi-row INSERTs in a few statements per table, so seeding takes seconds. Same input, same
rows (a seeded ``random.Random``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Comment,
    Issue,
    IssueLabel,
    IssuePriority,
    IssueStatus,
    Label,
    Membership,
    Project,
    Role,
    User,
    Workspace,
)
from services.errors import Conflict
from services.issue_rules import closed_at, take_numbers

BENCH_SLUG = "bench"
WORDS = [
    "login",
    "crash",
    "slow",
    "export",
    "import",
    "search",
    "label",
    "comment",
    "project",
    "issue",
    "page",
    "button",
    "error",
    "timeout",
    "database",
    "cache",
    "api",
    "token",
    "user",
    "email",
    "dark",
    "mode",
    "mobile",
    "safari",
    "chrome",
    "report",
]
STATUSES = list(IssueStatus)
PRIORITIES = list(IssuePriority)
CHUNK = 2_000


@dataclass(frozen=True)
class BenchShape:
    users: int = 50
    projects: int = 5
    issues: int = 10_000
    labels: int = 20
    labels_per_issue: int = 3
    comments_per_issue: int = 5


@dataclass(frozen=True)
class BenchSeed:
    owner_email: str
    workspace_slug: str
    project_keys: list[str]


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


async def _bulk(session: AsyncSession, model: type, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(model), rows[start : start + CHUNK])


async def seed_bench(session: AsyncSession, shape: BenchShape | None = None) -> BenchSeed:
    """Write the benchmark workspace; refuses if it exists (drop the database to re-seed)."""
    shape = shape or BenchShape()
    if await session.scalar(select(Workspace.id).where(Workspace.slug == BENCH_SLUG)):
        raise Conflict("The bench workspace exists; seed a fresh database.")
    rng = random.Random(20261126)  # noqa: S311 - reproducible data, not secrets
    base = datetime(2026, 1, 1, tzinfo=UTC)
    workspace_id = await session.scalar(
        insert(Workspace).values(slug=BENCH_SLUG, name="Benchmark").returning(Workspace.id)
    )
    user_ids = list(
        await session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {"email": f"bench{n}@example.com", "name": f"Bench User {n}"}
                for n in range(shape.users)
            ],
        )
    )
    await session.execute(
        insert(Membership),
        [
            {
                "workspace_id": workspace_id,
                "user_id": user_id,
                "role": Role.OWNER if n == 0 else Role.MEMBER,
            }
            for n, user_id in enumerate(user_ids)
        ],
    )
    keys = [f"P{n}" for n in range(shape.projects)]
    project_ids = list(
        await session.scalars(
            insert(Project).returning(Project.id, sort_by_parameter_order=True),
            [{"workspace_id": workspace_id, "key": key, "name": f"Project {key}"} for key in keys],
        )
    )
    label_ids = list(
        await session.scalars(
            insert(Label).returning(Label.id, sort_by_parameter_order=True),
            [
                {"workspace_id": workspace_id, "name": f"label-{n:02d}", "color": "#ededed"}
                for n in range(shape.labels)
            ],
        )
    )
    per_project = shape.issues // shape.projects
    issues: list[dict[str, object]] = []
    for p, project_id in enumerate(project_ids):
        # A fresh project: numbers 1..per_project, and its counter left at per_project.
        for number in await take_numbers(session, project_id, per_project):
            created = base + timedelta(minutes=p * per_project + number)
            status = rng.choice(STATUSES)
            issues.append(
                {
                    "workspace_id": workspace_id,
                    "project_id": project_id,
                    "number": number,
                    "title": _sentence(rng, 6),
                    "body": _sentence(rng, 30),
                    "status": status,
                    "priority": rng.choice(PRIORITIES),
                    "reporter_id": rng.choice(user_ids),
                    "assignee_id": rng.choice(user_ids) if rng.random() < 0.8 else None,
                    "created_at": created,
                    "updated_at": created,
                    "closed_at": closed_at(status, now=created),
                }
            )
    issue_ids: list[int] = []
    for start in range(0, len(issues), CHUNK):
        issue_ids += list(
            await session.scalars(
                insert(Issue).returning(Issue.id, sort_by_parameter_order=True),
                issues[start : start + CHUNK],
            )
        )
    await _bulk(
        session,
        IssueLabel,
        [
            {"issue_id": issue_id, "label_id": label_id}
            for issue_id in issue_ids
            for label_id in rng.sample(label_ids, shape.labels_per_issue)
        ],
    )
    comments: list[dict[str, object]] = []
    for issue_id, issue in zip(issue_ids, issues, strict=True):
        issue_created = issue["created_at"]
        assert isinstance(issue_created, datetime)
        for c in range(shape.comments_per_issue):
            at = issue_created + timedelta(seconds=c + 1)
            comments.append(
                {
                    "workspace_id": workspace_id,
                    "issue_id": issue_id,
                    "author_id": rng.choice(user_ids),
                    "body": _sentence(rng, 12),
                    "created_at": at,
                    "updated_at": at,
                }
            )
    await _bulk(session, Comment, comments)
    return BenchSeed("bench0@example.com", BENCH_SLUG, keys)
