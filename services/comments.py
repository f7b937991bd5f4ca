"""Comments on issues; authors edit their own, owners may delete any."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Comment, Issue, Role
from db.statements import Row, Statements
from services import validation
from services.errors import Forbidden, NotFound
from services.pagination import (
    Listing,
    Page,
    PageArgs,
    SortKey,
    count_per_parent,
    decode_bigint,
    decode_datetime,
    fetch_pages,
)
from services.tenancy import get_for_write, visible_by_ids
from services.users import joined_user
from services.viewer import WRITERS, Viewer

_comments = Comment.__table__
COMMENTS = Listing(
    "comments",
    (
        _comments.c.id,
        _comments.c.workspace_id,
        _comments.c.issue_id,
        _comments.c.author_id,
        _comments.c.body,
        _comments.c.created_at,
    ),
    parent=_comments.c.issue_id,
    tenant=_comments.c.workspace_id,
    joined=(joined_user("author", _comments.c.author_id),),
)
COMMENT_ORDER = SortKey(
    "comments:created_at",
    (_comments.c.created_at, _comments.c.id),
    (decode_datetime, decode_bigint),
    False,
)


class CommentReads:
    def __init__(self, db: Statements, viewer: Viewer) -> None:
        self.db = db
        self.viewer = viewer

    async def get_many(self, ids: Sequence[int]) -> list[Row | None]:
        return await visible_by_ids(self.db, self.viewer, COMMENTS, ids)

    async def pages(self, issue_ids: Sequence[int], args: PageArgs) -> dict[int, Page[Row]]:
        return await fetch_pages(
            self.db,
            COMMENTS,
            issue_ids,
            COMMENT_ORDER,
            args,
            workspaces=self.viewer.workspace_ids,
            viewer=self.viewer.user_id,
        )

    async def counts(self, issue_ids: Sequence[int]) -> dict[int, int]:
        return await count_per_parent(
            self.db, COMMENTS, issue_ids, workspaces=self.viewer.workspace_ids
        )


class CommentService:
    def __init__(self, session: AsyncSession, viewer: Viewer) -> None:
        self.session = session
        self.viewer = viewer

    async def add(self, *, issue_id: int, body: str) -> Comment:
        issue = await get_for_write(
            self.session,
            self.viewer,
            Issue,
            issue_id,
            missing="Issue not found.",
            field=["input", "issueId"],
            action="comment",
        )
        body = validation.body(body, ["input", "body"], "Comment", required=True)
        comment = Comment(
            workspace_id=issue.workspace_id,
            issue_id=issue.id,
            author_id=self.viewer.user_id,
            body=body,
        )
        self.session.add(comment)
        await self.session.flush()
        await self.session.refresh(comment)
        return comment

    async def _get(self, comment_id: int) -> Comment:
        comment = await self.session.get(Comment, comment_id, with_for_update=True)
        if comment is None or not self.viewer.can_read(comment.workspace_id):
            raise NotFound("Comment not found.", ["input", "id"])
        return comment

    async def update(self, *, comment_id: int, body: str) -> Comment:
        comment = await self._get(comment_id)
        self.viewer.require_role(comment.workspace_id, WRITERS, action="edit comments")
        if comment.author_id != self.viewer.user_id:
            raise Forbidden("Only the comment's author may edit it.")
        comment.body = validation.body(body, ["input", "body"], "Comment", required=True)
        comment.updated_at = func.now()
        await self.session.flush()
        await self.session.refresh(comment)
        return comment

    async def delete(self, *, comment_id: int) -> None:
        comment = await self._get(comment_id)
        role = self.viewer.require_role(comment.workspace_id, WRITERS, action="delete comments")
        if comment.author_id != self.viewer.user_id and role is not Role.OWNER:
            raise Forbidden("Only the comment's author or a workspace owner may delete it.")
        await self.session.delete(comment)
        await self.session.flush()
