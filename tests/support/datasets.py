"""Large datasets inserted directly (fast), for the pagination, query-count, search and
executor tests: issues and comments with deliberate ties and shuffled ids, numbers and
timestamps, and the workspace around them made through the API."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Comment, Issue, IssueLabel, IssuePriority, IssueStatus, Project
from tests.support.client import GraphQLClient, Person
from tests.support.world import add_member, create_label, create_project, create_workspace, pk

SessionFactory = async_sessionmaker[AsyncSession]

BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
PRIORITIES = [p.value for p in IssuePriority]  # lowest to highest, as PostgreSQL orders them
STATUSES = [s.value for s in IssueStatus]


@dataclass
class IssueRow:
    id: int
    number: int
    project_id: int
    created_at: datetime
    updated_at: datetime
    priority: str
    status: str
    reporter_id: int
    assignee_id: int | None
    label_ids: frozenset[int]


@dataclass
class CommentRow:
    id: int
    issue_id: int
    author_id: int
    created_at: datetime


async def insert_issues(
    session_factory: SessionFactory,
    *,
    workspace_pk: int,
    project_pk: int,
    count: int,
    reporter_pk: int,
    assignee_pks: Sequence[int | None],
    label_pks: Sequence[int],
    seed: int,
) -> list[IssueRow]:
    """``count`` issues inserted in one statement, with shuffled numbers and timestamps.

    Ties: a run of 55 issues shares one ``created_at`` (longer than any page size used in the
    walks, so page boundaries must fall inside it), 12 share one ``updated_at``, and every
    7th issue copies another's ``created_at``; priorities tie by nature (5 values).
    """
    rng = random.Random(seed)
    created = [BASE_TIME + timedelta(minutes=m) for m in rng.sample(range(count * 4), count)]
    updated = [c + timedelta(days=1, minutes=rng.randrange(10_000)) for c in created]
    tie_group = rng.sample(range(count), min(55, count))
    for i in tie_group:
        created[i] = created[tie_group[0]]
    for i in range(0, count, 7):
        created[i] = created[(i * 13 + 5) % count]
    for i in rng.sample(range(count), min(12, count)):
        updated[i] = BASE_TIME + timedelta(days=3)
    numbers = list(range(1, count + 1))
    rng.shuffle(numbers)
    values: list[dict[str, Any]] = []
    labels_per_issue: list[frozenset[int]] = []
    for i in range(count):
        status = rng.choice(STATUSES)
        values.append(
            {
                "workspace_id": workspace_pk,
                "project_id": project_pk,
                "number": numbers[i],
                "title": f"Issue {numbers[i]} in project {project_pk}",
                "body": f"Body of issue {numbers[i]}.",
                "status": IssueStatus(status),
                "priority": IssuePriority(rng.choice(PRIORITIES)),
                "reporter_id": reporter_pk,
                "assignee_id": rng.choice(list(assignee_pks)),
                "created_at": created[i],
                "updated_at": updated[i],
                "closed_at": updated[i] if status in ("DONE", "CANCELED") else None,
            }
        )
        labels_per_issue.append(frozenset(rng.sample(list(label_pks), rng.randrange(3))))
    async with session_factory() as session:
        ids = list(
            await session.scalars(
                insert(Issue).returning(Issue.id, sort_by_parameter_order=True), values
            )
        )
        links = [
            {"issue_id": issue_id, "label_id": label_id}
            for issue_id, labels in zip(ids, labels_per_issue, strict=True)
            for label_id in labels
        ]
        if links:
            await session.execute(insert(IssueLabel), links)
        await session.execute(
            update(Project).where(Project.id == project_pk).values(issue_counter=count)
        )
        await session.commit()
    return [
        IssueRow(
            id=issue_id,
            number=v["number"],
            project_id=project_pk,
            created_at=v["created_at"],
            updated_at=v["updated_at"],
            priority=v["priority"].value,
            status=v["status"].value,
            reporter_id=reporter_pk,
            assignee_id=v["assignee_id"],
            label_ids=labels,
        )
        for issue_id, v, labels in zip(ids, values, labels_per_issue, strict=True)
    ]


async def insert_comments(
    session_factory: SessionFactory,
    *,
    workspace_pk: int,
    issues: Sequence[IssueRow],
    author_pks: Sequence[int],
    max_per_issue: int,
    seed: int,
) -> list[CommentRow]:
    """0..max_per_issue comments per issue; every third comment ties with its predecessor."""
    rng = random.Random(seed)
    values: list[dict[str, Any]] = []
    for issue in issues:
        at = issue.created_at
        for j in range(rng.randrange(max_per_issue + 1)):
            if j % 3 != 2:
                at = at + timedelta(minutes=rng.randrange(1, 60))
            values.append(
                {
                    "workspace_id": workspace_pk,
                    "issue_id": issue.id,
                    "author_id": rng.choice(list(author_pks)),
                    "body": f"Comment {j} on {issue.id}",
                    "created_at": at,
                    "updated_at": at,
                }
            )
    # Insert in shuffled order so comment ids do not follow created_at.
    rng.shuffle(values)
    if not values:
        return []
    async with session_factory() as session:
        ids = list(
            await session.scalars(
                insert(Comment).returning(Comment.id, sort_by_parameter_order=True), values
            )
        )
        await session.commit()
    return [
        CommentRow(
            id=i, issue_id=v["issue_id"], author_id=v["author_id"], created_at=v["created_at"]
        )
        for i, v in zip(ids, values, strict=True)
    ]


@dataclass
class Dataset:
    owner: Person
    bob: Person
    carol: Person
    slug: str
    key: str
    workspace_id: str
    project_id: str
    label_ids: list[str]
    issues: list[IssueRow]
    people: dict[int, Person] = field(default_factory=dict)

    @property
    def label_pks(self) -> list[int]:
        return [pk(i) for i in self.label_ids]


async def build_dataset(
    gql: GraphQLClient,
    make_person: Any,
    session_factory: SessionFactory,
    *,
    count: int = 250,
    slug: str = "acme",
    key: str = "ENG",
    seed: int = 7,
) -> Dataset:
    """A workspace with an owner and two members, four labels, and ``count`` issues."""
    alice: Person = await make_person("Alice")
    bob: Person = await make_person("Bob")
    carol: Person = await make_person("Carol")
    workspace_id = await create_workspace(gql, alice, slug, slug)
    await add_member(gql, alice, workspace_id, bob)
    await add_member(gql, alice, workspace_id, carol, "VIEWER")
    project_id = await create_project(gql, alice, workspace_id, key)
    label_ids = [
        await create_label(gql, alice, workspace_id, n) for n in ("bug", "ui", "perf", "docs")
    ]
    issues = await insert_issues(
        session_factory,
        workspace_pk=pk(workspace_id),
        project_pk=pk(project_id),
        count=count,
        reporter_pk=alice.user_id,
        assignee_pks=[None, alice.user_id, bob.user_id, carol.user_id],
        label_pks=[pk(i) for i in label_ids],
        seed=seed,
    )
    return Dataset(
        owner=alice,
        bob=bob,
        carol=carol,
        slug=slug,
        key=key,
        workspace_id=workspace_id,
        project_id=project_id,
        label_ids=label_ids,
        issues=issues,
        people={p.user_id: p for p in (alice, bob, carol)},
    )


def sort_key(field_name: str) -> Any:
    return {
        "CREATED_AT": lambda r: (r.created_at, r.id),
        "UPDATED_AT": lambda r: (r.updated_at, r.id),
        "PRIORITY": lambda r: (PRIORITIES.index(r.priority), r.id),
        "NUMBER": lambda r: (r.number, r.id),
    }[field_name]


def expected_numbers(rows: Sequence[IssueRow], field_name: str, descending: bool) -> list[int]:
    return [r.number for r in sorted(rows, key=sort_key(field_name), reverse=descending)]
