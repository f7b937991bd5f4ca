"""Comments on issues; authors edit their own, owners may delete any."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func

from db.models import Comment, Issue, Role
from db.statements import Row
from services import validation
from services.errors import Forbidden
from services.pagination import Page, PageArgs, SortKey, decode_bigint, decode_datetime
from services.tenancy import Service, TenantReads, tenant_listing
from services.users import joined_user

_comments = Comment.__table__
COMMENTS = tenant_listing(
    "comments",
    _comments,
    # Not its workspace: nothing reads it off a comment (the tenancy condition has it).
    ("id", "issue_id", "author_id", "body", "created_at"),
    parent="issue_id",
    joined=(joined_user("author", _comments.c.author_id),),
)
COMMENT_ORDER = SortKey(
    "comments:created_at",
    (_comments.c.created_at, _comments.c.id),
    (decode_datetime, decode_bigint),
    False,
)


class CommentReads(TenantReads):
    listing = COMMENTS

    async def pages(self, issue_ids: Sequence[int], args: PageArgs) -> dict[int, Page[Row]]:
        return await self.pages_per_parent(issue_ids, args, COMMENT_ORDER)

    async def counts(self, issue_ids: Sequence[int]) -> dict[int, int]:
        return await self.counts_per_parent(issue_ids)


class CommentService(Service):
    async def add(self, *, issue_id: int, body: str) -> Comment:
        issue = await self.load_for_write(
            Issue, issue_id, action="comment", field=["input", "issueId"]
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

    async def update(self, *, comment_id: int, body: str) -> Comment:
        comment = await self.load_for_write(Comment, comment_id, action="edit comments", lock=True)
        if comment.author_id != self.viewer.user_id:
            raise Forbidden("Only the comment's author may edit it.")
        comment.body = validation.body(body, ["input", "body"], "Comment", required=True)
        comment.updated_at = func.now()
        await self.session.flush()
        await self.session.refresh(comment)
        return comment

    async def delete(self, *, comment_id: int) -> None:
        comment = await self.load_for_write(
            Comment, comment_id, action="delete comments", lock=True
        )
        role = self.viewer.require_member(comment.workspace_id)
        if comment.author_id != self.viewer.user_id and role is not Role.OWNER:
            raise Forbidden("Only the comment's author or a workspace owner may delete it.")
        await self.session.delete(comment)
        await self.session.flush()
