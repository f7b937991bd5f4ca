"""CommentService: writers comment; a foreign issue or comment is NotFound; authors edit their
own comments; authors and owners delete them; bodies are required."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.comments import CommentService
from services.errors import Forbidden, Invalid, NotFound
from services.issues import IssueService
from tests.support.domain import Tenants


@pytest.fixture
async def issue_id(session: AsyncSession, tenants: Tenants) -> int:
    issue = await IssueService(session, tenants.member).create(
        project_id=tenants.project_id, title="Discuss"
    )
    return issue.id


async def test_writers_comment_and_bodies_are_required(
    session: AsyncSession, tenants: Tenants, issue_id: int
) -> None:
    with pytest.raises(Forbidden):
        await CommentService(session, tenants.reader).add(issue_id=issue_id, body="Me too")
    with pytest.raises(NotFound) as foreign:
        await CommentService(session, tenants.stranger).add(issue_id=issue_id, body="Hi")
    assert foreign.value.field == ["input", "issueId"]
    service = CommentService(session, tenants.member)
    with pytest.raises(Invalid) as empty:
        await service.add(issue_id=issue_id, body="  ")
    assert empty.value.field == ["input", "body"]
    comment = await service.add(issue_id=issue_id, body="Seen it")
    assert (comment.author_id, comment.issue_id) == (tenants.member.user_id, issue_id)


async def test_only_the_author_edits_a_comment(
    session: AsyncSession, tenants: Tenants, issue_id: int
) -> None:
    comment = await CommentService(session, tenants.member).add(issue_id=issue_id, body="v1")
    with pytest.raises(Forbidden):
        await CommentService(session, tenants.owner).update(comment_id=comment.id, body="v2")
    with pytest.raises(NotFound):
        await CommentService(session, tenants.stranger).update(comment_id=comment.id, body="v2")
    edited = await CommentService(session, tenants.member).update(comment_id=comment.id, body="v2")
    assert edited.body == "v2"


async def test_authors_and_owners_delete_comments(
    session: AsyncSession, tenants: Tenants, issue_id: int
) -> None:
    by_owner = await CommentService(session, tenants.owner).add(issue_id=issue_id, body="Owner")
    by_member = await CommentService(session, tenants.member).add(issue_id=issue_id, body="Mem")
    with pytest.raises(Forbidden):
        await CommentService(session, tenants.member).delete(comment_id=by_owner.id)
    with pytest.raises(Forbidden):
        await CommentService(session, tenants.reader).delete(comment_id=by_member.id)
    with pytest.raises(NotFound):
        await CommentService(session, tenants.stranger).delete(comment_id=by_member.id)
    await CommentService(session, tenants.owner).delete(comment_id=by_member.id)
    await CommentService(session, tenants.owner).delete(comment_id=by_owner.id)
