"""The assembled ``strawberry.Schema``: roots, limits and the extensions that enforce them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.compiled import CompiledEngine
from app.graphql.extensions.document_caches import DocumentCaches
from app.graphql.extensions.error_policy import ErrorPolicy
from app.graphql.extensions.query_budget import QueryBudget
from app.graphql.extensions.request_policy import RequestPolicy
from app.observability.tracing import Tracing
from app.policy.cost import CostRules
from app.policy.limits import limit_rule
from app.policy.rate_limit import RateLimiter
from app.settings import Settings
from resolvers.mutation import Mutation
from resolvers.query import Query
from resolvers.subscription import Subscription
from schema.framework_compat import SchemaWithExecuteHook


class IssuegraphSchema(SchemaWithExecuteHook):
    # Set by `build_schema`; the plain graphql-core executor until then.
    execution_engine: CompiledEngine | None = None

    def execute_function(self) -> Callable[..., Any] | None:
        """Operations run on compiled plans (app.compiled), which fall back to graphql-core.

        Every extension sees both paths alike (``SchemaWithExecuteHook``; tests/test_compiled.py
        checks that strawberry calls it).
        """
        return self.execution_engine

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Silence strawberry's own error log: ``ErrorPolicy`` logs what is unexpected, once."""


def build_schema(
    settings: Settings | None = None,
    limiter: Callable[[], RateLimiter | None] = lambda: None,
    tracing: Tracing | None = None,
) -> strawberry.Schema:
    """The schema with every limit of docs/security.md, set from ``settings``; with
    ``tracing``, a span per operation (first, so that it covers the others' work).

    Extensions are given as factories: each request gets fresh instances (the parser and
    validation LRU caches themselves live at module level and are shared).
    """
    settings = settings or Settings()
    # Our linear-time depth and alias rule (app.policy.limits), built once here: the validation
    # cache is keyed by the rule classes, so a fresh class per request would defeat it.
    limit_rules: list[type[ASTValidationRule]] = [
        limit_rule(settings.max_query_depth, settings.max_aliases)
    ]
    rules = CostRules(
        default_page_size=settings.default_page_size, max_page_size=settings.max_page_size
    )
    extensions: list[Any] = [
        *([tracing.operation_extension()] if tracing is not None else []),
        ErrorPolicy,
        lambda: DocumentCaches(max_tokens=settings.max_tokens, rules=tuple(limit_rules)),
        lambda: RequestPolicy(
            budget=QueryBudget(max_cost=settings.max_query_cost, rules=rules, limiter=limiter())
        ),
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    schema = IssuegraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(batching_config={"max_operations": settings.max_batch_operations}),
    )
    if settings.execution_engine != "graphql-core":
        schema.execution_engine = CompiledEngine(schema, settings.execution_engine)
    return schema


# The default schema, for `issuegraph export-schema` and tests of the SDL.
schema = build_schema()
