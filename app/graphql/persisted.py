"""Persisted queries: Apollo's automatic persisted queries (APQ) and trusted documents.

A request may name its document by hash instead of sending it, in
``extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}`` (Apollo Client's
persisted-queries link, urql's ``persistedExchange``):

- **APQ** (``APQ_ENABLED``, the default): a hash alone is looked up in the APQ store (Redis,
  shared by every API replica) and then among the trusted documents; unknown, the answer is
  HTTP 200 with ``PersistedQueryNotFound`` / ``PERSISTED_QUERY_NOT_FOUND``, and the client
  sends the hash with the document. That document is verified against the hash, executed,
  and, when it parsed and validated and the request carried a valid token, stored for
  ``APQ_TTL_SECONDS``.
- **Trusted documents** (``TRUSTED_DOCUMENTS_ONLY``): only documents registered with
  ``issuegraph documents register PATH`` run, named by hash or sent in full (their SHA-256 is
  looked up); nothing a client sends is ever registered. Anything else is refused with
  HTTP 400 and ``DOCUMENT_NOT_TRUSTED``.

The refusals and their codes are in docs/security.md ("Persisted queries and trusted
documents").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    print_ast,
    validate,
)
from graphql.language import FieldNode, InlineFragmentNode
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import metrics
from db.trusted_documents import add_trusted_document, find_trusted_document

log = structlog.get_logger("issuegraph.persisted")

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# Trusted documents never change (a hash names one text), so an API process may keep the ones
# it has seen; this bounds that memory.
_TRUSTED_CACHE_SIZE = 10_000


class PersistedQueryError(Exception):
    """A persisted-query refusal: a GraphQL error with ``code``, answered with ``status``."""

    def __init__(self, message: str, code: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def as_graphql_error(self) -> GraphQLError:
        return GraphQLError(self.message, extensions={"code": self.code})


def not_found() -> PersistedQueryError:
    # The message and code are the protocol: Apollo's link and urql match them to resend the
    # document with its hash.
    return PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", 200)


def not_supported() -> PersistedQueryError:
    return PersistedQueryError("PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED", 200)


def not_trusted() -> PersistedQueryError:
    return PersistedQueryError(
        "This server runs only trusted documents, and this one is not registered "
        "(`issuegraph documents register`).",
        "DOCUMENT_NOT_TRUSTED",
        400,
    )


def sha256_hex(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8", "surrogatepass")).hexdigest()


def requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The SHA-256 a request names in ``extensions.persistedQuery``, lower case; or None."""
    if not extensions or extensions.get("persistedQuery") is None:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict):
        raise PersistedQueryError(
            "`extensions.persistedQuery` must be an object.", "PERSISTED_QUERY_INVALID", 400
        )
    if persisted.get("version") != 1:
        raise PersistedQueryError(
            "Unsupported persisted query version: only version 1 is supported.",
            "PERSISTED_QUERY_INVALID",
            400,
        )
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
        raise PersistedQueryError(
            "`extensions.persistedQuery.sha256Hash` must be 64 hexadecimal digits.",
            "PERSISTED_QUERY_INVALID",
            400,
        )
    return sha.lower()


def _check_hash(query: str, sha: str) -> None:
    if sha256_hex(query) != sha:
        raise PersistedQueryError(
            "The document's SHA-256 does not match `extensions.persistedQuery.sha256Hash`.",
            "PERSISTED_QUERY_HASH_MISMATCH",
            400,
        )


@dataclass(frozen=True)
class Resolved:
    """The document to execute, and the hash to store it under once it ran (APQ)."""

    query: str | None
    register: str | None = None


@dataclass(eq=False, kw_only=True)
class DocumentStore:
    """Looks documents up by hash: the APQ store in Redis, trusted documents in PostgreSQL."""

    redis: Redis
    session_factory: async_sessionmaker[AsyncSession]
    namespace: str
    apq_enabled: bool
    apq_ttl_seconds: int
    trusted_only: bool
    _trusted: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def _key(self, sha: str) -> str:
        return f"{self.namespace}:apq:{sha}"

    async def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> Resolved:
        """The document a request asks for, or a ``PersistedQueryError``."""
        sha = requested_hash(extensions)
        if self.trusted_only:
            if sha is None:
                if query is None:
                    return Resolved(None)  # strawberry's "No GraphQL query found" (400)
                sha = sha256_hex(query)
            elif query is not None:
                _check_hash(query, sha)
            document = await self.trusted(sha)
            if document is None:
                metrics.PERSISTED_QUERIES.labels("refused").inc()
                raise not_trusted()
            metrics.PERSISTED_QUERIES.labels("trusted").inc()
            return Resolved(document)
        if sha is None:
            return Resolved(query)
        if query is not None:
            _check_hash(query, sha)
            return Resolved(query, register=sha if self.apq_enabled else None)
        if self.apq_enabled:
            document = await self._apq_get(sha)
            if document is not None:
                metrics.PERSISTED_QUERIES.labels("hit").inc()
                return Resolved(document)
        document = await self.trusted(sha)
        if document is not None:
            metrics.PERSISTED_QUERIES.labels("trusted").inc()
            return Resolved(document)
        if not self.apq_enabled:
            raise not_supported()
        metrics.PERSISTED_QUERIES.labels("miss").inc()
        raise not_found()

    async def _apq_get(self, sha: str) -> str | None:
        try:
            raw = await self.redis.get(self._key(sha))
        except (RedisError, OSError) as error:
            # The client resends the document: slower, never wrong.
            log.warning("apq.unavailable", error=repr(error))
            return None
        if raw is None:
            return None
        return raw.decode("utf-8", "surrogatepass") if isinstance(raw, bytes) else str(raw)

    async def register(self, sha: str, document: str) -> None:
        """Store a client's document under its (verified) hash for ``apq_ttl_seconds``."""
        try:
            await self.redis.set(
                self._key(sha), document.encode("utf-8", "surrogatepass"), ex=self.apq_ttl_seconds
            )
        except (RedisError, OSError) as error:
            log.warning("apq.unavailable", error=repr(error))
            return
        metrics.PERSISTED_QUERIES.labels("registered").inc()

    async def trusted(self, sha: str) -> str | None:
        cached = self._trusted.get(sha)
        if cached is not None:
            return cached
        document = await find_trusted_document(self.session_factory, sha)
        if document is not None:
            if len(self._trusted) >= _TRUSTED_CACHE_SIZE:
                self._trusted.clear()
            self._trusted[sha] = document
        return document


# -- registering trusted documents (`issuegraph documents register PATH`) -------------------


class DocumentError(Exception):
    """A file that does not parse, a fragment defined twice or missing, an invalid operation."""


@dataclass(frozen=True)
class Operation:
    name: str | None
    document: str  # the operation and the fragments it uses, printed canonically
    sha256: str
    source: str  # the file, relative to the registered folder


def _spreads(selection_set: SelectionSetNode | None) -> Iterator[str]:
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            yield selection.name.value
        elif isinstance(selection, FieldNode | InlineFragmentNode):
            yield from _spreads(selection.selection_set)


def operations_in(folder: Path, schema: GraphQLSchema) -> list[Operation]:
    """Every operation in the ``.graphql`` files under ``folder``, with the fragments it uses
    (from any file there), printed by graphql-core's printer (the same output as graphql-js
    ``print``, which Apollo's persisted-queries link hashes), validated against ``schema``.
    """
    files = sorted(p for p in folder.rglob("*.graphql") if p.is_file())
    if not files:
        raise DocumentError(f"no .graphql files under {folder}")
    fragments: dict[str, FragmentDefinitionNode] = {}
    operations: list[tuple[OperationDefinitionNode, str]] = []
    for path in files:
        source = str(path.relative_to(folder))
        try:
            document = parse(path.read_text("utf-8"))
        except GraphQLError as error:
            raise DocumentError(f"{source}: {error.message}") from None
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                name = definition.name.value
                if name in fragments:
                    raise DocumentError(f"{source}: fragment {name} is defined twice")
                fragments[name] = definition
            elif isinstance(definition, OperationDefinitionNode):
                operations.append((definition, source))
    found: list[Operation] = []
    for operation, source in operations:
        used: list[FragmentDefinitionNode] = []
        pending = list(_spreads(operation.selection_set))
        while pending:
            name = pending.pop(0)
            if any(f.name.value == name for f in used):
                continue
            fragment = fragments.get(name)
            if fragment is None:
                raise DocumentError(f"{source}: fragment {name} is not defined in {folder}")
            used.append(fragment)
            pending.extend(_spreads(fragment.selection_set))
        document = DocumentNode(definitions=(operation, *used))
        errors = validate(schema, document)
        operation_name = operation.name.value if operation.name else None
        if errors:
            label = operation_name or "anonymous operation"
            raise DocumentError(f"{source}: {label}: {errors[0].message}")
        text = print_ast(document)
        found.append(Operation(operation_name, text, sha256_hex(text), source))
    return found


async def register_documents(session: AsyncSession, operations: list[Operation]) -> int:
    """Store ``operations`` as trusted documents; the number that were new."""
    new = 0
    for operation in operations:
        if await add_trusted_document(
            session,
            sha256=operation.sha256,
            document=operation.document,
            operation_name=operation.name,
            source=operation.source,
        ):
            new += 1
    return new
