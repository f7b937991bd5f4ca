"""One declaration per entity type: what ``Query.node`` resolves, how its by-id dataloader
loads it, and what the query cost estimate caps its lists at.

``NODE_TYPES`` (the global-ID type names ``Query.node`` accepts), the by-id loaders of
``resolvers/loaders.py`` (``Loaders.by_id``) and the list caps of ``app/cost.py`` are all read
from ``ENTITIES``; adding an entity is one ``Entity`` here plus its type, service, model and
migration (docs/architecture.md, "Adding an entity").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from schema.relations import RelationLoaders
from schema.types import Comment, Issue, Job, Label, Project, User, Workspace
from services.comments import CommentReads
from services.issues import IssueReads
from services.jobs import JobReads
from services.labels import LabelReads
from services.projects import ProjectReads
from services.types import Row, Statements
from services.users import UserReads
from services.viewer import Viewer
from services.workspaces import WorkspaceReads

N = TypeVar("N")


class ReadsByIds(Protocol):
    """A read service's batch lookup: one row (or None) per id, in id order, for the viewer."""

    def get_many(self, ids: Sequence[int]) -> Awaitable[list[Row | None]]: ...


@dataclass(frozen=True)
class Entity(Generic[N]):
    # The GraphQL type, and the type name inside its global IDs.
    name: str
    # Its by-id dataloader: the ``Loaders`` attribute, and the batch metrics' label.
    loader: str
    # The read service that loads its rows by id (built per request by ``Services``).
    reads: Callable[[Statements, Viewer], ReadsByIds]
    # The GraphQL object for a row; relations it has load through the request's loaders.
    build: Callable[[Row, RelationLoaders], N]
    # Caps of its plain lists of objects, by field name (``app/cost.py``).
    list_caps: Mapping[str, int] = field(default_factory=dict)


USER = Entity("User", "user", UserReads, lambda row, _: User.from_row(row))
WORKSPACE = Entity("Workspace", "workspace", WorkspaceReads, lambda row, _: Workspace.from_row(row))
PROJECT = Entity("Project", "project", ProjectReads, lambda row, _: Project.from_row(row))
ISSUE = Entity("Issue", "issue", IssueReads, Issue.from_row, list_caps={"labels": 100})
LABEL = Entity("Label", "label", LabelReads, lambda row, _: Label.from_row(row))
COMMENT = Entity("Comment", "comment", CommentReads, Comment.from_row)
JOB = Entity("Job", "job", JobReads, lambda row, _: Job.from_row(row))

ENTITIES: Mapping[str, Entity[Any]] = {
    entity.name: entity for entity in (USER, WORKSPACE, PROJECT, ISSUE, LABEL, COMMENT, JOB)
}
NODE_TYPES = frozenset(ENTITIES)


def list_caps() -> dict[str, int]:
    """Every entity's list caps, by ``"Type.field"`` (``app/cost.py:CostRules``)."""
    return {
        f"{entity.name}.{name}": cap
        for entity in ENTITIES.values()
        for name, cap in entity.list_caps.items()
    }
