"""Which relations a field reads on the issues it returns, from its selection (worked out
once per field): what their rows can bring along (``services.issue_relations``) and what
the look-ahead loads for them (``resolvers/prefetch.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

from schema.context import RequestContext
from schema.selection import Selected, SelectionInfo, selection, under
from services.errors import DomainError
from services.issue_relations import IssueRelations
from services.pagination import PageArgs


@dataclass(frozen=True)
class CommentsPlan:
    field: Selected


@dataclass(frozen=True)
class IssuePlan:
    """Which relations the selected issue fields read."""

    project: bool
    labels: bool
    comments: tuple[CommentsPlan, ...]

    @classmethod
    def of(cls, fields: Sequence[Selected]) -> IssuePlan:
        names = {f.name for f in fields}
        return cls(
            project=bool(names & {"project", "identifier"}),
            labels="labels" in names,
            comments=tuple(CommentsPlan(f) for f in fields if f.name == "comments"),
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


def page_args_of(
    context: RequestContext[Any], field: Selected, variables: dict[str, Any]
) -> PageArgs:
    """The same page arguments the field's own resolver will compute (validated the same)."""
    return context.page_args(
        field.argument("first", variables),
        field.argument("after", variables),
        field.argument("last", variables),
        field.argument("before", variables),
    )


def issue_relations(info: SelectionInfo, *, connection: bool = True) -> IssueRelations:
    """The relations the issues' rows can bring along: their labels, and their comment page
    when exactly one is selected with arguments that check out (anything else is left to the
    loaders, which report bad arguments on the field itself)."""
    plan = issue_plan(info, connection=connection)
    comments = None
    if len(plan.comments) == 1:
        try:
            comments = page_args_of(info.context, plan.comments[0].field, info.variable_values)
        except (GraphQLError, DomainError, ValueError, TypeError):
            comments = None
    return IssueRelations(plan.labels, comments)
