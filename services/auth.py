"""API tokens and the viewer they authenticate. Only a SHA-256 hash of a token is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, func, or_, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ApiToken, Membership, Role, User
from services import validation
from services.errors import Conflict, NotFound
from services.viewer import Viewer

TOKEN_PREFIX = "igt_"  # noqa: S105 - a prefix that makes leaked tokens easy to scan for


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


LAST_USED_PRECISION = timedelta(minutes=1)


async def authenticate(session: AsyncSession, token: str) -> Viewer | None:
    """Resolve a bearer token to its viewer and all their roles in one statement.

    ``api_tokens.last_used_at`` is refreshed at most once a minute per token, so a busy
    client does not turn every read into a write; the caller commits.
    """
    roles = func.json_object_agg(Membership.workspace_id, Membership.role).filter(
        Membership.id.is_not(None)
    )
    stale = or_(
        ApiToken.last_used_at.is_(None),
        ApiToken.last_used_at < func.now() - LAST_USED_PRECISION,
    )
    stmt = (
        select(User.id, User.name, User.email, type_coerce(roles, JSON), ApiToken.id, stale)
        .join(ApiToken, ApiToken.user_id == User.id)
        .outerjoin(Membership, Membership.user_id == User.id)
        .where(
            ApiToken.token_hash == hash_token(token),
            ApiToken.revoked_at.is_(None),
            (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > func.now()),
        )
        .group_by(User.id, ApiToken.id)
    )
    token_hash = hash_token(token)
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    user_id, name, email, role_map, token_id, needs_touch = row
    if needs_touch:
        await session.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=func.now())
        )  # the caller commits
    roles_by_workspace = {int(ws): Role(role) for ws, role in (role_map or {}).items()}
    return Viewer(
        user_id=user_id,
        name=name,
        email=email,
        roles=roles_by_workspace,
        token_id=token_id,
        token_key=token_hash[:32],
    )


async def create_user(session: AsyncSession, *, email: str, name: str) -> User:
    email = validation.email(email, ["email"])
    name = validation.name(name, ["name"])
    existing = await session.scalar(select(User.id).where(func.lower(User.email) == email.lower()))
    if existing is not None:
        raise Conflict(f"A user with email {email} already exists.", ["email"])
    user = User(email=email, name=name)
    session.add(user)
    await session.flush()
    return user


async def create_token(
    session: AsyncSession,
    *,
    email: str,
    label: str | None = None,
    expires_in_days: int | None = None,
) -> str:
    """Return a new token for the user; the caller shows it once, we keep only its hash."""
    user_id = await session.scalar(select(User.id).where(func.lower(User.email) == email.lower()))
    if user_id is None:
        raise NotFound(f"No user with email {email}.", ["email"])
    token = generate_token()
    expires_at = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    session.add(
        ApiToken(user_id=user_id, token_hash=hash_token(token), label=label, expires_at=expires_at)
    )
    await session.flush()
    return token


async def revoke_token(session: AsyncSession, token: str) -> bool:
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(ApiToken.id)
    )
    return result.first() is not None


async def current_roles(session: AsyncSession, viewer: Viewer) -> Viewer:
    """The viewer with their memberships re-read (for long-lived connections)."""
    rows = await session.execute(
        select(Membership.workspace_id, Membership.role).where(Membership.user_id == viewer.user_id)
    )
    return replace(viewer, roles=dict(rows.all()))
