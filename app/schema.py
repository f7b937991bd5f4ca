"""The assembled ``strawberry.Schema``: roots, extensions, and error logging left to them."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from app.extensions import AuthenticationGate, ErrorPolicy
from resolvers.mutation import Mutation
from resolvers.query import Query
from resolvers.subscription import Subscription


class IssuegraphSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Silence strawberry's own error log: ``ErrorPolicy`` logs what is unexpected, once."""


def build_schema(**extra: Any) -> strawberry.Schema:
    return IssuegraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            ErrorPolicy,
            AuthenticationGate,
            # Factories: the LRU caches themselves live at module level, shared by requests.
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
        ],
        **extra,
    )


schema = build_schema()
