"""Labels of a workspace, and the labels carried by issues."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import any_, delete, func, select
from sqlalchemy.exc import IntegrityError

from db.models import IssueLabel, Label
from db.statements import Prepared, Row
from services import validation
from services.errors import Conflict, Invalid, NotFound
from services.pagination import Page, PageArgs, SortKey, decode_bigint, decode_str, ids_param
from services.tenancy import Service, TenantReads, tenant_listing
from services.unset import Maybe, Unset
from services.viewer import WRITERS

# Also the cap the query cost estimate counts `Issue.labels` by.
MAX_LABELS_PER_ISSUE = 100

_labels = Label.__table__
_issue_labels = IssueLabel.__table__
LABELS = tenant_listing("labels", _labels, ("id", "workspace_id", "name", "color"))
LABEL_ORDER = SortKey(
    "labels:name", (_labels.c.name, _labels.c.id), (decode_str, decode_bigint), False
)
# Each issue's labels by name; issues reach here only through a readable parent.
LABELS_OF_ISSUES = Prepared(
    select(_issue_labels.c.issue_id, *LABELS.columns)
    .join(_labels, _labels.c.id == _issue_labels.c.label_id)
    .where(_issue_labels.c.issue_id == any_(ids_param("ids")))
    .order_by(_labels.c.name, _labels.c.id)
)


class LabelReads(TenantReads):
    listing = LABELS

    async def for_issues(self, issue_ids: Sequence[int]) -> list[list[Row]]:
        """Each issue's label rows (``issue_id`` plus the label's columns), by name."""
        by_issue: dict[int, list[Row]] = {i: [] for i in issue_ids}
        for row in await self.db.fetch(LABELS_OF_ISSUES, {"ids": list(issue_ids)}):
            by_issue[row[0]].append(row)
        return [by_issue[i] for i in issue_ids]

    async def pages(self, workspace_ids: Sequence[int], args: PageArgs) -> dict[int, Page[Row]]:
        return await self.pages_per_parent(workspace_ids, args, LABEL_ORDER)

    async def counts(self, workspace_ids: Sequence[int]) -> dict[int, int]:
        return await self.counts_per_parent(workspace_ids)


class LabelService(Service):
    async def _name_taken(self, workspace_id: int, name: str, except_id: int | None = None) -> bool:
        stmt = select(Label.id).where(
            Label.workspace_id == workspace_id, func.lower(Label.name) == name.lower()
        )
        if except_id is not None:
            stmt = stmt.where(Label.id != except_id)
        return (await self.session.scalar(stmt)) is not None

    async def _flush_unique(self, name: str) -> None:
        """Flush, turning a lost race on the unique name index into ``Conflict``."""
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError:
            raise Conflict(f"A label named '{name}' exists.", ["input", "name"]) from None

    async def create(self, *, workspace_id: int, name: str, color: str) -> Label:
        self.viewer.require_role(
            workspace_id, WRITERS, ["input", "workspaceId"], action="create labels"
        )
        name = validation.name(name, ["input", "name"])
        color = validation.color(color, ["input", "color"])
        if await self._name_taken(workspace_id, name):
            raise Conflict(f"A label named '{name}' exists.", ["input", "name"])
        label = Label(workspace_id=workspace_id, name=name, color=color)
        self.session.add(label)
        await self._flush_unique(name)
        return label

    async def update(self, *, label_id: int, name: Maybe[str], color: Maybe[str]) -> Label:
        label = await self.load_for_write(Label, label_id, action="change labels")
        if not isinstance(name, Unset):
            new_name = validation.name(name or "", ["input", "name"])
            if await self._name_taken(label.workspace_id, new_name, except_id=label.id):
                raise Conflict(f"A label named '{new_name}' exists.", ["input", "name"])
            label.name = new_name
        if not isinstance(color, Unset):
            label.color = validation.color(color or "", ["input", "color"])
        await self._flush_unique(label.name)
        return label

    async def delete(self, *, label_id: int) -> None:
        label = await self.load_for_write(Label, label_id, action="delete labels")
        await self.session.execute(delete(IssueLabel).where(IssueLabel.label_id == label.id))
        await self.session.delete(label)
        await self.session.flush()

    async def require_in_workspace(
        self, workspace_id: int, label_ids: Sequence[int], field: Sequence[str]
    ) -> list[int]:
        """Deduplicated label ids, all of which must belong to the workspace."""
        if len(label_ids) > MAX_LABELS_PER_ISSUE:
            raise Invalid(f"An issue may carry at most {MAX_LABELS_PER_ISSUE} labels.", field)
        unique = list(dict.fromkeys(label_ids))
        if not unique:
            return []
        found = set(
            await self.session.scalars(
                select(Label.id).where(Label.id.in_(unique), Label.workspace_id == workspace_id)
            )
        )
        for position, label_id in enumerate(label_ids):
            if label_id not in found:
                raise NotFound("Label not found in this workspace.", [*field, str(position)])
        return unique
