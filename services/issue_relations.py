"""What an issue read brings along in each issue's own row: its labels and a page of its
comments, as array columns (``services/nested_pages.py``). The one-issue lookup and the pages
of a project's issues use the same columns, so a nested query's relations cost no statement
of their own (W1: 3 statements instead of 5, W2: 2 instead of 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from db.models import Issue, IssueLabel, Label
from db.statements import Row
from services.comments import COMMENT_ORDER, COMMENTS
from services.errors import DomainError
from services.labels import LABELS
from services.nested_pages import nested_page, nested_page_of, nested_rows, page_values
from services.pagination import Page, PageArgs

_issues = Issue.__table__
_issue_labels = IssueLabel.__table__
_labels = Label.__table__

_LABEL_NAMES = [c.name for c in LABELS.columns]
# The comment page's own parameters (limit, cursors), apart from an outer page's.
_COMMENTS_PARAMS = "comments_"


@dataclass(frozen=True)
class IssueRelations:
    """The relations a read nests in each issue's row; hashable, so part of a loader key.

    ``comments`` is the page arguments of the one comment page to nest (None: none)."""

    labels: bool = False
    comments: PageArgs | None = None


NO_RELATIONS = IssueRelations()


@dataclass(frozen=True)
class IssueFound:
    """An issue's row and the relations read with it (None: not read with it)."""

    row: Row
    labels: list[Row] | None = None
    comments: Page[Row] | None = None


def _labels_column() -> Any:
    """The issue's labels by name, as ``LabelReads.for_issues`` reads them for many issues."""
    return (
        select(
            func.array_agg(
                aggregate_order_by(func.row(*LABELS.columns), _labels.c.name, _labels.c.id)
            )
        )
        .select_from(_issue_labels.join(_labels, _labels.c.id == _issue_labels.c.label_id))
        .where(_issue_labels.c.issue_id == _issues.c.id)
        .scalar_subquery()
    )


@lru_cache(maxsize=64)
def _columns(
    labels: bool, comments: PageArgs | None
) -> tuple[tuple[ColumnElement[Any], ...], tuple[str, ...]]:
    """The columns for one combination of relations, and the comment records' field names.

    Keyed by the comment page's shape (its values erased), and the same objects every time:
    the statements they go in are cached by them."""
    columns: list[ColumnElement[Any]] = []
    names: list[str] = []
    if labels:
        columns.append(_labels_column().label("_labels"))
    if comments is not None:
        column, names = nested_page(
            COMMENTS, COMMENT_ORDER, comments, _issues.c.id, _issues, _COMMENTS_PARAMS
        )
        columns.append(column.label("_comments"))
    return tuple(columns), tuple(names)


def _shape_of(args: PageArgs) -> PageArgs:
    """``args`` with only what decides the statement's shape (which cursors, which way)."""
    return PageArgs(
        first=None if args.backward else 1,
        after="" if args.after is not None else None,
        last=1 if args.backward else None,
        before="" if args.before is not None else None,
    )


@dataclass(frozen=True)
class NestedRead:
    """The relations of one read as columns to add to its statement and their values."""

    relations: IssueRelations
    columns: tuple[ColumnElement[Any], ...] = ()
    values: dict[str, Any] = field(default_factory=dict)
    comment_names: tuple[str, ...] = ()

    @classmethod
    def of(cls, relations: IssueRelations) -> NestedRead:
        """A comment page whose cursor does not decode is left out: the ``comments`` field
        then loads it itself and reports the error there."""
        if not relations.labels and relations.comments is None:
            return _NOTHING_NESTED
        comments = relations.comments
        values: dict[str, Any] = {}
        if comments is not None:
            try:
                values = page_values(comments, COMMENT_ORDER, _COMMENTS_PARAMS)
            except DomainError:
                comments = None
        shape = None if comments is None else _shape_of(comments)
        columns, names = _columns(relations.labels, shape)
        return cls(IssueRelations(relations.labels, comments), columns, values, names)

    def found(self, row: Row) -> IssueFound:
        relations = self.relations
        if not relations.labels and relations.comments is None:
            return IssueFound(row)
        return IssueFound(
            row,
            nested_rows(row["_labels"], _LABEL_NAMES) if relations.labels else None,
            None
            if relations.comments is None
            else nested_page_of(
                row["_comments"], self.comment_names, relations.comments, COMMENT_ORDER
            ),
        )


_NOTHING_NESTED = NestedRead(NO_RELATIONS)
