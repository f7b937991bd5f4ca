"""Look-ahead prefetching: load what a page's nodes will ask for before they ask.

Under graphql-core every field that returns an awaitable costs a coroutine, a future and
a gather; on a 50-issue page with comments that is ~500 awaits and most of the request's
time. A resolver that produces issues therefore reads its own selection (fragments included,
``schema.selection``), loads the project, the labels and each distinct page of comments for
all of them through the same dataloaders (one batch per relation), and sets them on each object
(the relation fields of ``schema.relations``), which then answer like plain attributes. People
(reporter, assignee, a comment's author) come joined to the rows themselves
(``services.users.joined_user``); the labels and the comment page can come in the issues' own
rows too (``services.issue_relations``, ``issue_with_relations`` below), and then are not
loaded again. Anything not prefetched is loaded when read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import partial

from graphql import GraphQLError

from schema.issue_lookahead import CommentsPlan, IssuePageAhead, issue_plan, page_args_of
from schema.selection import SelectionInfo
from schema.types import Comment, Issue, Label, Project
from schema.types.labels import label_builder
from schema.types.tracker import IssueBatch, TrackerContext, TrackerLoaders
from services.errors import DomainError
from services.issue_reads import PROJECT_PREFIX, IssueReads
from services.issue_relations import IssueFound, IssueRelations
from services.issues import IssueQuery
from services.pagination import Page
from services.types import Row


async def prefetch_issues(context: TrackerContext, info: SelectionInfo, batch: IssueBatch) -> None:
    """Prefetch the relations the field being resolved selects on the batch's issues and
    their rows did not bring along (``batch.nested``)."""
    issues, project, nested = batch.issues, batch.project, batch.nested
    if not issues:
        return
    plan = issue_plan(info, connection=batch.connection)
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

    async def comments(wanted: CommentsPlan) -> None:
        try:
            args = page_args_of(context, wanted.field, info.variable_values)
        except (GraphQLError, DomainError, ValueError, TypeError):
            return  # bad arguments: the field itself reports them when it resolves
        pending = [i for i in issues if not (i.loaded_comments and args in i.loaded_comments)]
        if not pending:
            return
        try:
            pages = await loaders.issue_comments.load_many([(i.pk, args) for i in pending])
        except (GraphQLError, DomainError, ValueError, TypeError):
            return
        for issue, page in zip(pending, pages, strict=True):
            if issue.loaded_comments is None:
                issue.loaded_comments = {}
            issue.loaded_comments[args] = page

    # Started together, the loads land in the same loader tick: one batch per relation.
    wants_labels = plan.labels and not nested.labels
    await asyncio.gather(
        *([labels()] if wants_labels else []), *(comments(c) for c in plan.comments)
    )


def issue_with_relations(
    loaders: TrackerLoaders,
    found: IssueFound,
    relations: IssueRelations,
    label_of: Callable[[Row], Label] = Label.from_row,
) -> Issue:
    """The issue of a read's row, with the relations that came in it (``relations``: what
    the read asked for; ``label_of``: a batch's ``label_builder``)."""
    issue = Issue.from_row(found.row, loaders)
    if found.labels is not None:
        issue.labels = [label_of(row) for row in found.labels]
    if found.comments is not None and relations.comments is not None:
        page = found.comments.map(partial(Comment.from_row, loaders=loaders))
        issue.loaded_comments = {relations.comments: page}
    return issue


def issue_page(
    loaders: TrackerLoaders, page: Page[IssueFound], relations: IssueRelations
) -> Page[Issue]:
    """A page of issue rows as issues, with what came in their rows (one object per label
    across the page)."""
    build = partial(issue_with_relations, loaders, relations=relations, label_of=label_builder())
    return page.map(build)


async def project_with_issues(
    reads: IssueReads,
    loaders: TrackerLoaders,
    workspace_slug: str,
    key: str,
    ahead: IssuePageAhead,
) -> Project | None:
    """The project, read in one statement with the page of issues its ``issues`` field will
    ask for (``ahead``), which waits in the ``project_issues`` loader under the key that field
    computes (no filter, the default order); None when there is no such project."""
    found = await reads.project_with_issues(workspace_slug, key, ahead.args, ahead.relations)
    if found is None:
        return None
    project = Project.from_row(found.project, prefix=PROJECT_PREFIX)
    loaders.project.prime(project.pk, project)
    page = issue_page(loaders, found.issues, ahead.relations)
    loaders.project_issues.prime((project.pk, ahead.args, IssueQuery(), ahead.relations), page)
    return project
