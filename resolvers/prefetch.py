"""Look-ahead prefetching: load what a page's nodes will ask for before they ask.

Under graphql-core every field that returns an awaitable costs a coroutine, a future and
a gather; on a 50-issue page with comments that is ~500 awaits and most of the request's
time. A connection resolver therefore reads its own selection (fragments included), loads
the nested relations for the whole page through the same dataloaders (so batching and
statement counts are unchanged), and stores them on the objects; the nested fields then
answer synchronously. Anything not prefetched falls back to the loader.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError
from strawberry.types.nodes import SelectedField, Selection

from schema.connections import fields_of
from schema.types import Comment, Issue, Project
from services.errors import DomainError

if TYPE_CHECKING:
    from resolvers.context import Context


def path(selections: Iterable[Selection], *names: str) -> list[SelectedField]:
    """The fields under ``names`` (e.g. ``edges``, ``node``) of every matching branch."""
    current = list(fields_of(selections))
    for name in names:
        current = [
            child
            for field in current
            if field.name == name
            for child in fields_of(field.selections)
        ]
    return current


def _int(value: Any) -> int | None:
    # Strawberry's selection arguments keep literals as written ("5"); variables arrive coerced.
    return int(value) if isinstance(value, str) else value


def _page_args(context: Context, field: SelectedField) -> Any:
    """The same page arguments the field's own resolver will compute (validated the same)."""
    arguments = field.arguments
    return context.page_args(
        _int(arguments.get("first")),
        arguments.get("after"),
        _int(arguments.get("last")),
        arguments.get("before"),
    )


async def prefetch_issues(
    context: Context,
    issues: Sequence[Issue],
    fields: list[SelectedField],
    project: Project | None = None,
) -> None:
    """Prefetch the relations ``fields`` select on ``issues`` (one page, or a search result)."""
    if not issues:
        return
    names = {field.name for field in fields}
    loaders = context.loaders
    if names & {"project", "identifier"}:
        if project is not None:
            for issue in issues:
                issue.prefetched["project"] = project
        else:
            projects = await loaders.project.load_many([i.project_id for i in issues])
            for issue, owner in zip(issues, projects, strict=True):
                issue.prefetched["project"] = owner

    user_ids: list[int] = []
    if "reporter" in names:
        user_ids += [i.reporter_id for i in issues]
    if "assignee" in names:
        user_ids += [i.assignee_id for i in issues if i.assignee_id is not None]
    authored: list[Comment] = []  # comments whose author is selected

    async def labels() -> None:
        if "labels" in names:
            per_issue = await loaders.issue_labels.load_many([i.pk for i in issues])
            for issue, issue_labels in zip(issues, per_issue, strict=True):
                issue.prefetched["labels"] = issue_labels

    async def comments(field: SelectedField) -> None:
        try:
            args = _page_args(context, field)
            pages = await loaders.issue_comments.load_many([(i.pk, args) for i in issues])
        except (GraphQLError, DomainError):
            return  # bad arguments: the field itself reports them when it resolves
        for issue, page in zip(issues, pages, strict=True):
            issue.prefetched[("comments", args)] = page
        node_fields = path(field.selections, "edges", "node")
        if any(f.name == "author" for f in node_fields):
            authored.extend(c for page in pages for c in page.items)

    # Started together, the loads land in the same loader tick: one batch per relation.
    await asyncio.gather(labels(), *(comments(f) for f in fields if f.name == "comments"))
    # Then every user the page needs (reporters, assignees, comment authors) in one batch.
    user_ids += [c.author_id for c in authored]
    if not user_ids:
        return
    found = dict(zip(user_ids, await loaders.user.load_many(user_ids), strict=True))
    for issue in issues:
        if "reporter" in names:
            issue.prefetched["reporter"] = found[issue.reporter_id]
        if "assignee" in names:
            issue.prefetched["assignee"] = (
                found[issue.assignee_id] if issue.assignee_id is not None else None
            )
    for comment in authored:
        comment.prefetched["author"] = found[comment.author_id]
