"""Domain errors: the one hierarchy resolvers turn into ``userErrors`` or GraphQL errors."""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """An expected failure, reported to the client with ``code`` and the input ``field`` path."""

    code = "INVALID"

    def __init__(self, message: str, field: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.field = list(field)


class NotFound(DomainError):
    """Missing, or in a workspace the viewer is not in: the two must look the same."""

    code = "NOT_FOUND"


class Forbidden(DomainError):
    """A member whose role does not allow the action."""

    code = "FORBIDDEN"


class Invalid(DomainError):
    code = "INVALID"


class Conflict(DomainError):
    code = "CONFLICT"


class LimitExceeded(DomainError):
    code = "LIMIT_EXCEEDED"
