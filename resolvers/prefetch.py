"""Look-ahead prefetching: load what a page's nodes will ask for before they ask.

Under graphql-core every field that returns an awaitable costs a coroutine, a future and
a gather; on a 50-issue page with comments that is ~500 awaits and most of the request's
time. A resolver that produces issues therefore reads its own selection (fragments included,
``schema.selection``), loads the project, the labels and each distinct page of comments for
all of them through the same dataloaders (one batch per relation), and sets them on each object
(the relation fields of ``schema.relations``), which then answer like plain attributes. People
(reporter, assignee, a comment's author) come joined to the rows themselves
(``services.users.joined_user``). Anything not prefetched is loaded when read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import GraphQLError

from schema.selection import Selected, SelectionInfo, selection, under
from schema.types import Comment, Issue, Label, Project
from schema.types.tracker import TrackerContext
from services.errors import DomainError
from services.issue_reads import IssueFound
from services.pagination import PageArgs


@dataclass(frozen=True)
class _CommentsPlan:
    field: Selected


@dataclass(frozen=True)
class IssuePlan:
    """Which relations the selected issue fields read (worked out once per field)."""

    project: bool
    labels: bool
    comments: tuple[_CommentsPlan, ...]

    @classmethod
    def of(cls, fields: Sequence[Selected]) -> IssuePlan:
        names = {f.name for f in fields}
        return cls(
            project=bool(names & {"project", "identifier"}),
            labels="labels" in names,
            comments=tuple(_CommentsPlan(f) for f in fields if f.name == "comments"),
        )


def issue_plan(info: SelectionInfo, *, connection: bool) -> IssuePlan:
    """The plan for the issues a field returns: the field's own selection, or with
    ``connection`` the selection under its ``edges { node }``."""
    found = selection(info)
    key = "issues:connection" if connection else "issues"
    plan: IssuePlan | None = found.memo.get(key)
    if plan is None:
        fields = under(found.fields, "edges", "node") if connection else found.fields
        plan = found.memo[key] = IssuePlan.of(fields)
    return plan


def _page_args(context: TrackerContext, field: Selected, variables: dict[str, Any]) -> PageArgs:
    """The same page arguments the field's own resolver will compute (validated the same)."""
    return context.page_args(
        field.argument("first", variables),
        field.argument("after", variables),
        field.argument("last", variables),
        field.argument("before", variables),
    )


async def prefetch_issues(
    context: TrackerContext,
    info: SelectionInfo,
    issues: Sequence[Issue],
    *,
    connection: bool,
    project: Project | None = None,
) -> None:
    """Prefetch the relations the field being resolved selects on ``issues``."""
    if not issues:
        return
    plan = issue_plan(info, connection=connection)
    loaders = context.loaders
    if plan.project:
        if project is not None:
            owners: Sequence[Project | None] = [project] * len(issues)
        else:
            owners = await loaders.project.load_many([i.project_id for i in issues])
        for issue, owner in zip(issues, owners, strict=True):
            if owner is not None:
                issue.project = owner
                issue.identifier = f"{owner.key}-{issue.number}"

    async def labels() -> None:
        per_issue = await loaders.issue_labels.load_many([i.pk for i in issues])
        for issue, issue_labels in zip(issues, per_issue, strict=True):
            issue.labels = issue_labels

    async def comments(wanted: _CommentsPlan) -> None:
        try:
            args = _page_args(context, wanted.field, info.variable_values)
            pages = await loaders.issue_comments.load_many([(i.pk, args) for i in issues])
        except (GraphQLError, DomainError, ValueError, TypeError):
            return  # bad arguments: the field itself reports them when it resolves
        for issue, page in zip(issues, pages, strict=True):
            if issue.loaded_comments is None:
                issue.loaded_comments = {}
            issue.loaded_comments[args] = page

    # Started together, the loads land in the same loader tick: one batch per relation.
    await asyncio.gather(
        *([labels()] if plan.labels else []), *(comments(c) for c in plan.comments)
    )


@dataclass(frozen=True)
class NestedRelations:
    """What the statement that reads one issue can bring along in its row."""

    labels: bool
    comments: PageArgs | None


def nested_relations(context: TrackerContext, info: SelectionInfo) -> NestedRelations:
    """The relations the field being resolved selects on its one issue: its labels, and its
    comment page when exactly one is selected with arguments that check out (anything else
    is left to the loaders, which report bad arguments on the field itself)."""
    plan = issue_plan(info, connection=False)
    comments = None
    if len(plan.comments) == 1:
        try:
            comments = _page_args(context, plan.comments[0].field, info.variable_values)
        except (GraphQLError, DomainError, ValueError, TypeError):
            comments = None
    return NestedRelations(plan.labels, comments)


def prime_nested(
    context: TrackerContext, issue: Issue, found: IssueFound, wanted: NestedRelations
) -> None:
    """Hand what came in the issue's row to its loaders, so that the prefetch that follows
    finds it there (no statement of its own)."""
    loaders = context.loaders
    if found.labels is not None:
        loaders.issue_labels.prime(issue.pk, [Label.from_row(row) for row in found.labels])
    if found.comments is not None and wanted.comments is not None:
        page = found.comments.map(partial(Comment.from_row, loaders=loaders))
        loaders.issue_comments.prime((issue.pk, wanted.comments), page)
