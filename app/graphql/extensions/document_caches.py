"""``DocumentCaches``: each distinct document parsed once and validated once."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import ASTValidationRule, DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension

from schema.framework_compat import graphql_core_schema, validate_document
from schema.selection import IdentityCache

_VALIDATED: IdentityCache[list[GraphQLError]] = IdentityCache()


@lru_cache(maxsize=512)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


class DocumentCaches(SchemaExtension):
    """Parsing and validation, each done once per distinct document.

    Documents are parsed once per query text (with the token limit: a refusal is a syntax
    error) and validated once per parsed document, by its identity: graphql-core's AST
    nodes hash recursively, so strawberry's ``ValidationCache`` hashed the whole document on
    every request. One extension for both (strawberry's runner costs per extension and hook).
    """

    def __init__(self, *, max_tokens: int, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.max_tokens = max_tokens
        self.rules = rules

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is None and ctx.query is not None:
            ctx.graphql_document = _parse(ctx.query, self.max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        assert document is not None  # validation runs after a successful parse
        schema, rules = graphql_core_schema(ctx.schema), (*ctx.validation_rules, *self.rules)
        ctx.pre_execution_errors = _VALIDATED.get(
            document, (schema, rules), lambda: validate_document(schema, document, rules)
        )
        yield
