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


def _relations(plan: IssuePlan, info: SelectionInfo) -> IssueRelations:
    """Their labels, and their comment page when exactly one is selected with arguments that
    check out (anything else is left to the loaders, which report bad arguments on the field
    itself)."""
    comments = None
    if len(plan.comments) == 1:
        try:
            comments = page_args_of(info.context, plan.comments[0].field, info.variable_values)
        except (GraphQLError, DomainError, ValueError, TypeError):
            comments = None
    return IssueRelations(plan.labels, comments)


def issue_relations(info: SelectionInfo, *, connection: bool = True) -> IssueRelations:
    """The relations the issues' rows of the field being resolved can bring along."""
    return _relations(issue_plan(info, connection=connection), info)


@dataclass(frozen=True)
class IssuePageAhead:
    """The page of issues a project's ``issues`` field will ask for, read with the project."""

    args: PageArgs
    relations: IssueRelations


def project_issue_page(info: SelectionInfo) -> IssuePageAhead | None:
    """The page a project field's one ``issues`` field selects, when its rows can come in the
    project's own statement: no filter and no ordering (those take the loader), arguments that
    check out (bad ones are reported by the field itself), one such field only."""
    found = selection(info)
    wanted = [f for f in found.fields if f.name == "issues"]
    if len(wanted) != 1:
        return None
    field, variables = wanted[0], info.variable_values
    if field.argument("filter", variables) is not None:
        return None
    if field.argument("orderBy", variables) is not None:
        return None
    try:
        args = page_args_of(info.context, field, variables)
    except (GraphQLError, DomainError, ValueError, TypeError):
        return None
    plan: IssuePlan | None = found.memo.get("project:issues")
    if plan is None:
        plan = found.memo["project:issues"] = IssuePlan.of(field.under("edges", "node"))
    return IssuePageAhead(args, _relations(plan, info))
