"""API tokens and the viewer they authenticate. Only a SHA-256 hash of a token is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, String, Text, bindparam, cast, func, or_, select, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ApiToken, Membership, Role, User
from db.statements import Prepared, Statements
from services import validation
from services.errors import Conflict, NotFound
from services.viewer import Viewer

TOKEN_PREFIX = "igt_"  # noqa: S105 - a prefix that makes leaked tokens easy to scan for


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


LAST_USED_PRECISION = timedelta(minutes=1)

_users = User.__table__
_tokens = ApiToken.__table__
_memberships = Membership.__table__
_member = _memberships.c.id.is_not(None)
# The token's user, all their roles, and whether the token's last use is worth recording.
TOKEN_VIEWER = Prepared(
    select(
        _users.c.id,
        _users.c.name,
        _users.c.email,
        func.array_agg(aggregate_order_by(_memberships.c.workspace_id, _memberships.c.id))
        .filter(_member)
        .label("workspace_ids"),
        func.array_agg(aggregate_order_by(cast(_memberships.c.role, Text), _memberships.c.id))
        .filter(_member)
        .label("roles"),
        _tokens.c.id.label("token_id"),
        or_(
            _tokens.c.last_used_at.is_(None),
            _tokens.c.last_used_at < func.now() - LAST_USED_PRECISION,
        ).label("stale"),
    )
    .select_from(_users)
    .join(_tokens, _tokens.c.user_id == _users.c.id)
    .outerjoin(_memberships, _memberships.c.user_id == _users.c.id)
    .where(
        _tokens.c.token_hash == bindparam("token_hash", type_=String),
        _tokens.c.revoked_at.is_(None),
        or_(_tokens.c.expires_at.is_(None), _tokens.c.expires_at > func.now()),
    )
    .group_by(_users.c.id, _tokens.c.id)
)
_ROLES = {role.value: role for role in Role}


@dataclass(frozen=True)
class Authentication:
    viewer: Viewer
    # The token's ``last_used_at`` is over a minute old: record this use (``record_use``).
    stale: bool


async def authenticate(db: Statements, token: str) -> Authentication | None:
    """Resolve a bearer token to its viewer and all their roles in one statement.

    ``api_tokens.last_used_at`` is refreshed at most once a minute per token (``stale``), so a
    busy client does not turn every read into a write.
    """
    token_hash = hash_token(token)
    rows = await db.fetch(TOKEN_VIEWER, {"token_hash": token_hash})
    if not rows:
        return None
    row = rows[0]
    labels = row["roles"] or ()
    roles = dict(zip(row["workspace_ids"] or (), (_ROLES[r] for r in labels), strict=True))
    viewer = Viewer(
        user_id=row["id"],
        name=row["name"],
        email=row["email"],
        roles=roles,
        token_id=row["token_id"],
        token_key=token_hash[:32],
    )
    return Authentication(viewer, bool(row["stale"]))


async def record_use(session: AsyncSession, token_id: int) -> None:
    """Stamp the token's ``last_used_at``; the caller commits."""
    await session.execute(
        update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=func.now())
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


_VIEWER_ROLES = Prepared(
    select(_memberships.c.workspace_id, cast(_memberships.c.role, Text)).where(
        _memberships.c.user_id == bindparam("user", type_=BigInteger)
    )
)


async def current_roles(db: Statements, viewer: Viewer) -> Viewer:
    """The viewer with their memberships re-read (for long-lived connections)."""
    rows = await db.fetch(_VIEWER_ROLES, {"user": viewer.user_id})
    return replace(viewer, roles={row[0]: _ROLES[row[1]] for row in rows})
