"""Issue numbering and the ``closedAt`` rule, written once for every writer of issues.

``services/issues.py`` (one issue, and its one-statement fast path), ``services/imports.py``
(a batch) and the benchmark seeding (``seeding/bench.py``) all number issues and set
``closed_at`` through these, so the rules of docs/architecture.md cannot drift between them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Update, case, func, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CLOSED_STATUSES, IssueStatus, Project

_projects = Project.__table__


def is_closed(status: IssueStatus) -> bool:
    return status in CLOSED_STATUSES


def closed_at(
    status: IssueStatus,
    current: datetime | None = None,
    *,
    now: datetime | ColumnElement[Any] | None = None,
) -> Any:
    """The ``closed_at`` value for an issue moving to ``status`` (or created with it).

    Set when moving to DONE/CANCELED (kept if it was already closed), cleared when moving back to
    an open status: the closedAt rule of docs/architecture.md (domain rules). ``now`` defaults to
    the transaction's ``now()``; writers of many rows at once pass one instant of their own.
    """
    if not is_closed(status):
        return None
    if current is not None:
        return current
    return func.now() if now is None else now


def closed_at_on_create(closed: ColumnElement[bool]) -> ColumnElement[Any]:
    """``closed_at`` of a new issue inside a single statement, where the status is a parameter:
    ``closed`` is true when ``is_closed(status)``, and then the issue closes at ``now()``."""
    return case((closed, func.now()))


def bump_counter(by: int = 1) -> Update:
    """``UPDATE projects SET issue_counter = issue_counter + by``; the caller adds the WHERE and
    RETURNING. Its row lock serializes concurrent creators on the project, so numbers stay
    consecutive, with no gap and no repeat."""
    return update(Project).values(issue_counter=_projects.c.issue_counter + by)


async def take_numbers(session: AsyncSession, project_id: int, count: int = 1) -> range:
    """The next ``count`` issue numbers of the project, taken in the session's transaction."""
    last = await session.scalar(
        bump_counter(count).where(_projects.c.id == project_id).returning(_projects.c.issue_counter)
    )
    assert last is not None
    return range(last - count + 1, last + 1)
