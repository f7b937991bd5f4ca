"""The authenticated actor and the permission table of docs/security.md."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from db.models import Role
from services.errors import Forbidden, NotFound

WRITERS = frozenset({Role.OWNER, Role.MEMBER})
OWNERS = frozenset({Role.OWNER})


@dataclass(frozen=True)
class Viewer:
    """Who is asking, with their roles loaded once per request.

    Loading memberships with the token means a removed member loses access on their very next
    request, and no permission check costs a query.
    """

    user_id: int
    name: str
    email: str
    roles: Mapping[int, Role] = field(default_factory=dict)
    # The API token this request came with, and a stable key for it (rate limits are per
    # token; the hash prefix stays unique across databases, unlike the row id).
    token_id: int | None = None
    token_key: str | None = None

    @property
    def workspace_ids(self) -> list[int]:
        return list(self.roles)

    def can_read(self, workspace_id: int) -> bool:
        return workspace_id in self.roles

    def require_member(self, workspace_id: int, field: Sequence[str] = ()) -> Role:
        """Raise ``NotFound`` for a workspace the viewer is not in: a non-member learns nothing."""
        role = self.roles.get(workspace_id)
        if role is None:
            raise NotFound("Not found.", field)
        return role

    def require_role(
        self,
        workspace_id: int,
        allowed: Collection[Role],
        field: Sequence[str] = (),
        action: str = "do this",
    ) -> Role:
        role = self.require_member(workspace_id, field)
        if role not in allowed:
            raise Forbidden(f"Your role ({role.value}) does not allow you to {action}.")
        return role
