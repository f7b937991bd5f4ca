"""How an issue's and a comment's relation fields load when no look-ahead set them
(``schema/relations.py``): through the request's dataloaders, or from the people joined to
the row the object was read from (``services.users.joined_user``).

They read only what ``_IssueSource`` / ``_CommentSource`` name, so they need not know the
tracker's types (``schema/types/tracker.py`` declares the fields with them).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

from schema.relations import RelationLoaders, Then
from schema.types.labels import Label
from schema.types.users import User, joined_user
from services.types import Row


class _IssueSource(Protocol):
    pk: int
    number: int
    project_id: int
    reporter_id: int
    assignee_id: int | None
    loaders: RelationLoaders
    row: Row | None


class _CommentSource(Protocol):
    author_id: int
    loaders: RelationLoaders
    row: Row | None


def issue_project(issue: _IssueSource) -> Awaitable[Any]:
    return issue.loaders.project.load(issue.project_id)


def issue_identifier(issue: _IssueSource) -> Awaitable[str]:
    return Then(issue_project(issue), lambda project: f"{project.key}-{issue.number}")


def issue_reporter(issue: _IssueSource) -> User | Awaitable[User]:
    joined = joined_user(issue.row, "reporter", issue.loaders.people)
    return joined if joined is not None else issue.loaders.user.load(issue.reporter_id)


def issue_assignee(issue: _IssueSource) -> User | Awaitable[User | None] | None:
    if issue.assignee_id is None:
        return None
    joined = joined_user(issue.row, "assignee", issue.loaders.people)
    return joined if joined is not None else issue.loaders.user.load(issue.assignee_id)


def issue_labels(issue: _IssueSource) -> Awaitable[list[Label]]:
    return issue.loaders.issue_labels.load(issue.pk)


def comment_author(comment: _CommentSource) -> User | Awaitable[User]:
    joined = joined_user(comment.row, "author", comment.loaders.people)
    return joined if joined is not None else comment.loaders.user.load(comment.author_id)
